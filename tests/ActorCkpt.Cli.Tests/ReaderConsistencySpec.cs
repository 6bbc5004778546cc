using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ActorCkpt.Cli;
using static ActorCkpt.Cli.Tests.ToolRun;

namespace ActorCkpt.Cli.Tests;

/// <summary>
/// Issue 15, item 2: every reader checks what a load checks. verify, export, unshard and inspect
/// refuse a step whose metadata is not what the catalog recorded, names another step, or disagrees
/// with its data files' own headers, in one line (exit 1) and before writing anything; without a
/// catalog the header cross-checks still run; ls shows such a step as damaged and gc changes
/// nothing while one is. Each command has 30 s (a hang fails the test).
/// </summary>
public class ReaderConsistencySpec : IDisposable
{
    private readonly TempDirectory _temp = new();

    public ReaderConsistencySpec() => Directory.CreateDirectory(_temp.Path);

    private string Parent => _temp.Path;

    private string Root => Path.Combine(Parent, "root");

    public void Dispose() => _temp.Dispose();

    private static string Line(string text) => text + Environment.NewLine;

    /// <summary>Every file and folder under <paramref name="path"/> with file lengths, to show that nothing was written.</summary>
    private static string[] Tree(string path) =>
        Directory.EnumerateFileSystemEntries(path, "*", SearchOption.AllDirectories)
            .Select(e => Path.GetRelativePath(path, e) + (File.Exists(e) ? " " + new FileInfo(e).Length : "/"))
            .Order(StringComparer.Ordinal).ToArray();

    /// <summary>Committed steps 1..<paramref name="steps"/> of 4 float32 [256, 256] tensors row-sharded over 2 ranks, in a root with a catalog.</summary>
    private void Demo(int steps = 1) =>
        Assert.Equal(0, Run("demo", "--dir", Root, "--size-mb", "1", "--tensors", "4", "--ranks", "2", "--load-ranks", "1", "--layout", "sharded",
            "--steps", steps.ToString()).Exit);

    private string Metadata(long step) => Path.Combine(Root, CheckpointLayout.StepDirectory(step), CheckpointLayout.MetadataFile);

    /// <summary>Step <paramref name="step"/>'s metadata as the version-1 JSON document (saves commit the binary form), for the specs that edit it as text.</summary>
    private byte[] JsonForm(long step) => MetadataJson.Serialize(new CheckpointStore(new LocalBlobStore(Root)).ReadMetadata(step));

    private string Checksum(long step) => CheckpointStore.Checksum(File.ReadAllBytes(Metadata(step)));

    /// <summary>Rewrites step 1's metadata through <paramref name="edit"/> (it stays valid JSON); returns (checksum before, after).</summary>
    private (string Recorded, string Now) EditMetadata(Action<JsonNode> edit)
    {
        var recorded = Checksum(1);
        var doc = JsonNode.Parse(JsonForm(1))!;
        edit(doc);
        File.WriteAllText(Metadata(1), doc.ToJsonString());
        return (recorded, Checksum(1));
    }

    /// <summary>
    /// Swaps the places of the two halves of "model.layers.0.weight" in step 1's metadata: valid,
    /// self-consistent metadata from which an export would write the tensor with its halves swapped.
    /// Returns the checksums and the files of the chunks now said to be at rows 128 and 0.
    /// </summary>
    private (string Recorded, string Now, string Top, string Bottom) SwapHalves()
    {
        string top = "", bottom = "";
        var (recorded, now) = EditMetadata(doc =>
        {
            var chunks = doc["tensors"]!["model.layers.0.weight"]!["chunks"]!.AsArray();
            (top, bottom) = (chunks[0]!["file"]!.GetValue<string>(), chunks[1]!["file"]!.GetValue<string>());
            Assert.Equal("model.layers.0.weight@0,0", chunks[0]!["name"]!.GetValue<string>());
            (chunks[0]!["offsets"], chunks[1]!["offsets"]) = (chunks[1]!["offsets"]!.DeepClone(), chunks[0]!["offsets"]!.DeepClone());
        });
        return (recorded, now, top, bottom);
    }

    /// <summary>The arguments of <paramref name="command"/> on the root (at <paramref name="step"/> when given).</summary>
    private string[] Args(string command, long? step = null)
    {
        var at = step is { } s ? new[] { "--step", s.ToString() } : command == "inspect" ? new[] { "--step", "1" } : Array.Empty<string>();
        return command switch
        {
            "export" => new[] { "export", Root, "--out", Path.Combine(Parent, "hf") }.Concat(at).ToArray(),
            "unshard" => new[] { "unshard", Root, "--out", Path.Combine(Parent, "out"), "--strategy", "one-file" }.Concat(at).ToArray(),
            _ => new[] { command, Root }.Concat(at).ToArray(),
        };
    }

    private static JsonElement LastJson(string output) => JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]).RootElement;

    /// <summary>The lines of verify's output that name a problem.</summary>
    private static string[] Bad(string output) => output.Split(Environment.NewLine).Where(l => l.StartsWith("BAD ", StringComparison.Ordinal)).ToArray();

    [Fact]
    public void Tampered_metadata_should_be_refused_by_every_reader_against_the_catalogs_checksum_and_nothing_written()
    {
        Demo();
        var (recorded, now, top, bottom) = SwapHalves();
        var before = Tree(Parent);
        var why = $"'step-00000001/metadata.json': its checksum {now} differs from the {recorded} the catalog recorded at commit: the document was changed or corrupted";

        foreach (var command in new[] { "export", "unshard", "inspect" })
        {
            var (exit, output, err) = Run(Args(command));
            Assert.Equal((command, 1, Line("actorckpt: " + why), ""), (command, exit, err, output));
        }
        var verify = Run(Args("verify").Append("--json").ToArray());

        Assert.Equal((1, ""), (verify.Exit, verify.Err));
        Assert.True(LastJson(verify.Out).GetProperty("catalog_checked").GetBoolean());
        Assert.Equal(new[]
        {
            "BAD file=metadata.json key=(file): its checksum " + now + " differs from the " + recorded + " the catalog recorded at commit: the document was changed or corrupted",
            $"BAD file={top} key=model.layers.0.weight: chunk offsets [128, 0] lengths [128, 256] of 'model.layers.0.weight' is stored as 'model.layers.0.weight@0,0' in the metadata (\"name\"), a name that belongs to another place; its own is 'model.layers.0.weight@128,0'",
            $"BAD file={bottom} key=model.layers.0.weight: chunk offsets [0, 0] lengths [128, 256] of 'model.layers.0.weight' is stored as 'model.layers.0.weight@128,0' in the metadata (\"name\"), a name that belongs to another place; its own is 'model.layers.0.weight@0,0'",
        }, Bad(verify.Out));
        Assert.Contains(Line("FAILED step 1: 3 problems"), verify.Out);
        // No export or unshard output, not even an empty folder; nothing else changed.
        Assert.Equal(before, Tree(Parent));
    }

    [Fact]
    public void Without_a_catalog_every_reader_should_still_cross_check_metadata_and_headers()
    {
        Demo();
        File.Delete(Path.Combine(Root, CheckpointLayout.CatalogFile));
        var (_, _, top, bottom) = SwapHalves();
        var before = Tree(Parent);
        var first = $"chunk offsets [128, 0] lengths [128, 256] of 'model.layers.0.weight' is stored as 'model.layers.0.weight@0,0' in the metadata (\"name\"), " +
                    "a name that belongs to another place; its own is 'model.layers.0.weight@128,0'";

        foreach (var command in new[] { "export", "unshard", "inspect" })
        {
            var (exit, output, err) = Run(Args(command));
            Assert.Equal((command, 1, Line($"actorckpt: 'step-00000001/{top}': {first} (and 1 more problem: actorckpt verify lists them)"), ""),
                (command, exit, err, output));
        }
        var verify = Run(Args("verify").Append("--json").ToArray());

        Assert.Equal((1, ""), (verify.Exit, verify.Err));
        Assert.False(LastJson(verify.Out).GetProperty("catalog_checked").GetBoolean());
        Assert.Equal(new[]
        {
            $"BAD file={top} key=model.layers.0.weight: {first}",
            $"BAD file={bottom} key=model.layers.0.weight: chunk offsets [0, 0] lengths [128, 256] of 'model.layers.0.weight' is stored as 'model.layers.0.weight@128,0' in the metadata (\"name\"), a name that belongs to another place; its own is 'model.layers.0.weight@0,0'",
        }, Bad(verify.Out));
        Assert.Equal(before, Tree(Parent));
    }

    [Fact]
    public void A_steps_metadata_copied_into_another_steps_directory_should_be_refused_by_every_reader_and_shown_damaged_by_ls()
    {
        Demo(steps: 2);
        File.Copy(Metadata(1), Metadata(2), overwrite: true);
        var before = Tree(Parent);
        const string why = "'step-00000002/metadata.json': \"step\" is 1 but the document is in the directory of step 2: it is another step's metadata, not this step's";

        foreach (var command in new[] { "verify", "export", "unshard", "inspect" })
        {
            var (exit, output, err) = Run(Args(command, step: 2));
            Assert.Equal((command, 1, Line("actorckpt: " + why)), (command, exit, err));
            Assert.DoesNotContain("%", output); // refused before any work started
        }
        // Without --step, the newest step is the one refused.
        var newest = Run("export", Root, "--out", Path.Combine(Parent, "hf"));
        Assert.Equal((1, Line("actorckpt: " + why)), (newest.Exit, newest.Err));
        var ls = Run("ls", Root, "--json");

        Assert.Equal((0, ""), (ls.Exit, ls.Err));
        Assert.StartsWith("step 2: committed, damaged: " + why + ", ", ls.Out.Split(Environment.NewLine)[1]);
        var rows = LastJson(ls.Out).GetProperty("checkpoints").EnumerateArray().ToArray();
        Assert.Equal(new[] { ("committed", (string?)null), ("committed", why) },
            rows.Select(r => (r.GetProperty("status").GetString()!, r.GetProperty("damage").GetString())));
        Assert.Equal(before, Tree(Parent));
    }

    [Fact]
    public void A_safetensors_header_rewritten_consistently_should_fail_verify_naming_the_file_and_its_header_checksum()
    {
        Demo();
        var metadata = JsonNode.Parse(JsonForm(1))!;
        var chunk = metadata["tensors"]!["model.layers.0.weight"]!["chunks"]![0]!;
        var file = chunk["file"]!.GetValue<string>();
        var recorded = metadata["files"]!.AsArray().Single(f => f!["name"]!.GetValue<string>() == file)!["header_checksum"]!.GetValue<string>();
        var path = Path.Combine(Root, "step-00000001", file);
        // Two entries of the same shape trade names: a valid safetensors file of the same length in
        // which any safetensors tool reads layer 0 as layer 2 and back.
        var bytes = File.ReadAllBytes(path);
        var n = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var json = Encoding.UTF8.GetString(bytes, 8, n).Replace("layers.0.", "layers.X.").Replace("layers.2.", "layers.0.").Replace("layers.X.", "layers.2.");
        Encoding.UTF8.GetBytes(json).CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);
        var now = CheckpointStore.Checksum(bytes.AsSpan(0, 8 + n));
        var (at0, at2) = (chunk["offset"]!.GetValue<long>(), metadata["tensors"]!["model.layers.2.weight"]!["chunks"]![0]!["offset"]!.GetValue<long>());

        var verify = Run("verify", Root);
        var export = Run(Args("export"));

        Assert.Equal((1, ""), (verify.Exit, verify.Err));
        var headerLine = $"header checksum {now} differs from the {recorded} recorded in the metadata (\"header_checksum\"): the header was rewritten";
        Assert.Equal(new[]
        {
            $"BAD file={file} key=(header): {headerLine}",
            $"BAD file={file} key=model.layers.0.weight: entry 'model.layers.0.weight@0,0' lies at byte {at2} (+131072) in the header, at byte {at0} (+131072) in the metadata (\"offset\", \"length\")",
            $"BAD file={file} key=model.layers.2.weight: entry 'model.layers.2.weight@0,0' lies at byte {at0} (+131072) in the header, at byte {at2} (+131072) in the metadata (\"offset\", \"length\")",
        }, Bad(verify.Out));
        Assert.Equal((1, Line($"actorckpt: 'step-00000001/{file}': {headerLine} (and 2 more problems: actorckpt verify lists them)")), (export.Exit, export.Err));
        Assert.False(Directory.Exists(Path.Combine(Parent, "hf")));
    }

    [Fact]
    public void Gc_should_change_nothing_while_a_committed_step_is_damaged_and_say_which()
    {
        Demo(steps: 2);
        var (recorded, now) = EditMetadata(doc => doc["note"] = "x"); // a field readers skip: only the catalog's checksum tells
        var before = Tree(Root);
        var why = $"'step-00000001/metadata.json': its checksum {now} differs from the {recorded} the catalog recorded at commit: the document was changed or corrupted";

        var gc = Run("gc", Root);
        var ls = Run("ls", Root);

        Assert.Equal(1, gc.Exit);
        Assert.Equal(Line($"step 1 is damaged: {why}"), gc.Out);
        Assert.Equal(Line("actorckpt: gc changes nothing while committed steps are damaged (step 1): check them with actorckpt verify, and move or remove them by hand"), gc.Err);
        Assert.Equal(before, Tree(Root));
        Assert.Equal(0, ls.Exit);
        var lines = ls.Out.Split(Environment.NewLine);
        Assert.StartsWith($"step 1: committed, damaged: {why}, ", lines[0]);
        Assert.Matches("^step 2: committed, [0-9]+ bytes in 4 files, ", lines[1]);
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int mkfifo([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode);

    /// <summary>Puts <paramref name="kind"/> in place of step <paramref name="step"/>'s metadata: nothing ("missing"), a FIFO, or a link to step 1's.</summary>
    private void Replace(long step, string kind)
    {
        File.Delete(Metadata(step));
        if (kind == "fifo") Assert.Equal(0, mkfifo(Metadata(step), 0b110_100_100));
        if (kind == "link") File.CreateSymbolicLink(Metadata(step), Path.Combine("..", CheckpointLayout.StepDirectory(1), CheckpointLayout.MetadataFile));
    }

    [Theory]
    [InlineData("missing")]
    [InlineData("fifo")]
    [InlineData("link")]
    public void A_step_the_catalog_committed_whose_metadata_is_missing_or_not_a_regular_file_should_fail_every_reader_not_fall_back_to_an_older_step(string kind)
    {
        Demo(steps: 2);
        Replace(2, kind);
        var before = Tree(Parent);
        var what = kind switch
        {
            "missing" => "the file is missing",
            "fifo" => "the file is a FIFO, not a regular file",
            _ => $"it cannot be read: 'step-00000002/metadata.json' in '{Root}' goes through the symbolic link '{Metadata(2)}' (to '../step-00000001/metadata.json'): " +
                 "links are refused so that nothing outside the checkpoint directory is read or written",
        };
        var why = $"'step-00000002/metadata.json': the catalog records step 2 as committed, but {what}";

        // Without --step: before, verify said "OK step 1", inspect "latest: 1", export wrote step 1, gc "no debris".
        foreach (var args in new[] { new[] { "verify", Root }, new[] { "inspect", Root }, Args("export"), Args("unshard") })
        {
            var (exit, output, err) = Run(args);
            Assert.Equal((args[0], 1, Line("actorckpt: " + why), ""), (args[0], exit, err, output));
        }
        var gc = Run("gc", Root);

        Assert.Equal((1, Line($"step 2 is damaged: {why}")), (gc.Exit, gc.Out));
        Assert.Equal(Line("actorckpt: gc changes nothing while committed steps are damaged (step 2): check them with actorckpt verify, and move or remove them by hand"), gc.Err);
        // No export or unshard output, nothing removed or repaired.
        Assert.Equal(before, Tree(Parent));

        // Without a catalog, a step without regular metadata is simply not committed: step 1 is the newest.
        File.Delete(Path.Combine(Root, CheckpointLayout.CatalogFile));
        var verify = Run("verify", Root);
        Assert.Equal((0, ""), (verify.Exit, verify.Err));
        Assert.Contains(Line("OK step 1: 4 files, 13 chunks and entries verified"), verify.Out);
    }
}

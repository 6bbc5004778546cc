using System.Text.Json;
using ActorCkpt.Cli;
using static ActorCkpt.Cli.Tests.ToolRun;

namespace ActorCkpt.Cli.Tests;

/// <summary>
/// <c>actorckpt catalog rebuild ROOT</c> on a root whose catalog is damaged: every committed step is
/// verified before it is admitted, one that fails is moved whole into ROOT/quarantine, the damaged
/// catalog is kept beside the new one, and the root works again (ls, loads, the next save). Each
/// command has 30 s: a hang fails the test.
/// </summary>
public sealed class CatalogRebuildSpec : IDisposable
{
    private readonly TempDirectory _temp = new();

    private string Root => Path.Combine(_temp.Path, "root");

    public void Dispose() => _temp.Dispose();

    private static string[] Lines(string output) => output.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public async Task Rebuild_should_keep_a_step_directory_whose_metadata_went_in_quarantine_not_lose_its_files()
    {
        // Before, the step was neither verified nor admitted, and the planner the rebuild started removed its files as debris.
        Assert.Equal(0, (await RunAsync("demo", "--dir", Root, "--size-mb", "1", "--tensors", "4", "--ranks", "2", "--steps", "3")).Exit);
        var step2 = Path.Combine(Root, CheckpointLayout.StepDirectory(2));
        File.Delete(Path.Combine(step2, CheckpointLayout.MetadataFile));
        var files = Directory.GetFiles(step2).Order(StringComparer.Ordinal).Select(f => (Path.GetFileName(f), Convert.ToHexString(File.ReadAllBytes(f)))).ToArray();

        var (exit, output, err) = await RunAsync("catalog", "rebuild", Root);

        Assert.Equal((0, ""), (exit, err));
        var lines = Lines(output);
        var quarantined = Path.Combine(Root, "quarantine", CheckpointLayout.StepDirectory(2));
        Assert.Equal($"step 2 failed verification ('step-00000002/{CheckpointLayout.MetadataFile}' is missing or not a regular file: not committed, or its metadata was lost): moved to {quarantined}, not admitted", lines[0]);
        Assert.Equal($"rebuilt the catalog of {Root}: 2 committed steps admitted (1, 3)", lines[2]);
        Assert.Equal(files, Directory.GetFiles(quarantined).Order(StringComparer.Ordinal).Select(f => (Path.GetFileName(f), Convert.ToHexString(File.ReadAllBytes(f)))).ToArray());
        Assert.False(Directory.Exists(step2));
    }

    [Fact]
    public async Task Rebuild_should_admit_the_steps_that_verify_quarantine_the_one_that_does_not_and_keep_the_damaged_catalog()
    {
        Assert.Equal(0, (await RunAsync("demo", "--dir", Root, "--size-mb", "1", "--tensors", "4", "--ranks", "2", "--steps", "3")).Exit);
        var catalog = Path.Combine(Root, CheckpointLayout.CatalogFile);
        var damaged = File.ReadAllBytes(catalog);
        for (var i = 100; i < damaged.Length; i++) damaged[i] = (byte)(i * 31);
        File.WriteAllBytes(catalog, damaged);
        // One byte of step 2's data flipped, past its header: its block checksum no longer matches.
        var step2 = Path.Combine(Root, CheckpointLayout.StepDirectory(2));
        var dataFile = Directory.GetFiles(step2, "*.safetensors").Order(StringComparer.Ordinal).First();
        var data = File.ReadAllBytes(dataFile);
        data[^1] ^= 0xFF;
        File.WriteAllBytes(dataFile, data);
        Assert.Equal(1, (await RunAsync("ls", Root)).Exit);

        var (exit, output, err) = await RunAsync("catalog", "rebuild", Root);

        Assert.Equal("", err);
        Assert.Equal(0, exit);
        var lines = Lines(output);
        var quarantined = Path.Combine(Root, "quarantine", CheckpointLayout.StepDirectory(2));
        // Three lines, then the report's six.
        Assert.Equal(9, lines.Length);
        Assert.Matches($@"^step 2 failed verification \(BAD file={Escaped(Path.GetFileName(dataFile))} key=\S+: checksum mismatch in block\(s\) [0-9, ]+\): moved to {Escaped(Path.Combine(Root, "quarantine/step-00000002"))}, not admitted$", lines[0]);
        Assert.Matches($@"^the old catalog is kept as {Escaped(catalog)}\.replaced-[0-9]{{8}}T[0-9]{{6}}Z$", lines[1]);
        Assert.Equal($"rebuilt the catalog of {Root}: 2 committed steps admitted (1, 3)", lines[2]);
        Assert.Equal("admitted: [1,3]", lines[4]);

        // Nothing lost: the damaged catalog and the failed step's files are kept, byte for byte.
        Assert.Equal(damaged, File.ReadAllBytes(lines[1]["the old catalog is kept as ".Length..]));
        Assert.Equal(data, File.ReadAllBytes(Path.Combine(quarantined, Path.GetFileName(dataFile))));
        Assert.False(Directory.Exists(step2));

        var ls = await RunAsync("ls", Root, "--json");
        Assert.Equal(0, ls.Exit);
        var entries = JsonDocument.Parse(Lines(ls.Out)[^1]).RootElement.GetProperty("checkpoints").EnumerateArray()
            .Select(e => (e.GetProperty("step").GetInt64(), e.GetProperty("status").GetString()!)).ToArray();
        Assert.Equal(new[] { (1L, "committed"), (3L, "committed") }, entries);
        Assert.Equal(0, (await RunAsync("demo", "--dir", Root, "--check", "--size-mb", "1", "--tensors", "4")).Exit);
        // The root saves again: the next step commits on the new catalog.
        Assert.Equal(0, (await RunAsync("demo", "--dir", Root, "--size-mb", "1", "--tensors", "4", "--ranks", "2", "--steps", "1")).Exit);
        Assert.Equal(4, new CheckpointStore(new LocalBlobStore(Root)).LatestStep());
    }

    [Fact]
    public async Task A_data_file_that_is_a_link_should_be_a_verify_finding_and_its_step_quarantined_by_a_rebuild()
    {
        Assert.Equal(0, (await RunAsync("demo", "--dir", Root, "--size-mb", "1", "--tensors", "4", "--ranks", "2", "--steps", "2")).Exit);
        var step2 = Path.Combine(Root, CheckpointLayout.StepDirectory(2));
        var dataFile = Directory.GetFiles(step2, "*.safetensors").Order(StringComparer.Ordinal).First();
        var moved = Path.Combine(Root, "..", Path.GetFileName(Root) + "-moved.safetensors");
        File.Move(dataFile, moved);
        File.CreateSymbolicLink(dataFile, moved);
        try
        {
            // Before, each ended at the link in one line: verify listed nothing else, and the rebuild admitted nothing.
            var verify = await RunAsync("verify", Root);
            Assert.Equal(1, verify.Exit);
            Assert.Contains($"BAD file={Path.GetFileName(dataFile)} key=(file): ", verify.Out);
            Assert.Contains("links are refused", verify.Out);

            var (exit, output, err) = await RunAsync("catalog", "rebuild", Root);
            Assert.Equal((0, ""), (exit, err));
            var lines = Lines(output);
            Assert.StartsWith($"step 2 failed verification (BAD file={Path.GetFileName(dataFile)} key=(file): ", lines[0]);
            Assert.EndsWith($": moved to {Path.Combine(Root, "quarantine", CheckpointLayout.StepDirectory(2))}, not admitted", lines[0]);
            Assert.Contains($"rebuilt the catalog of {Root}: 1 committed step admitted (1)", lines);
            // The link moved with its step, and what it names is untouched.
            Assert.Equal(moved, new FileInfo(Path.Combine(Root, "quarantine", CheckpointLayout.StepDirectory(2), Path.GetFileName(dataFile))).LinkTarget);
            Assert.True(File.Exists(moved));
        }
        finally
        {
            File.Delete(moved);
        }
    }

    [Theory]
    [InlineData("gone")]
    [InlineData("garbage")]
    public async Task A_root_whose_catalog_and_id_are_gone_or_whose_id_is_garbage_should_be_rebuilt_under_a_new_id(string damage)
    {
        Assert.Equal(0, (await RunAsync("demo", "--dir", Root, "--size-mb", "1", "--tensors", "4", "--ranks", "2", "--steps", "2")).Exit);
        var id = Path.Combine(Root, CheckpointLayout.RootIdFile);
        var before = File.ReadAllText(id);
        if (damage == "gone")
        {
            File.Delete(Path.Combine(Root, CheckpointLayout.CatalogFile));
            File.Delete(id);
            // Before: "no planner has run there", and the rebuild refused the root the same way.
            var ls = await RunAsync("ls", Root);
            Assert.Equal((1, $"actorckpt: '{Root}' has no catalog ({CheckpointLayout.RootIdFile} is missing), though it holds committed steps: actorckpt catalog rebuild ROOT gives it one"),
                (ls.Exit, ls.Err.TrimEnd()));
        }
        else File.WriteAllText(id, "../../etc\n");

        var (exit, output, err) = await RunAsync("catalog", "rebuild", Root);

        Assert.Equal((0, ""), (exit, err));
        var lines = Lines(output);
        Assert.Contains($"rebuilt the catalog of {Root}: 2 committed steps admitted (1, 2)", lines);
        if (damage == "garbage")
        {
            var kept = Assert.Single(lines, l => l.StartsWith("the root's id is not readable (", StringComparison.Ordinal));
            Assert.EndsWith("; the root gets a new id", kept);
            Assert.Equal("../../etc\n", File.ReadAllText(kept[(kept.IndexOf("its file is kept as ", StringComparison.Ordinal) + "its file is kept as ".Length)..kept.IndexOf("; the root gets", StringComparison.Ordinal)]));
        }
        Assert.Matches("^[0-9a-f]{32}\n$", File.ReadAllText(id));
        Assert.NotEqual(before, File.ReadAllText(id));
        var listed = await RunAsync("ls", Root, "--json");
        Assert.Equal(0, listed.Exit);
        Assert.Equal(new[] { (1L, "committed"), (2L, "committed") }, JsonDocument.Parse(Lines(listed.Out)[^1]).RootElement.GetProperty("checkpoints").EnumerateArray()
            .Select(e => (e.GetProperty("step").GetInt64(), e.GetProperty("status").GetString()!)).ToArray());
    }

    [Fact]
    public async Task Rebuild_of_a_root_that_does_not_exist_should_fail_in_one_line_and_create_nothing()
    {
        var (exit, output, err) = await RunAsync("catalog", "rebuild", Root);

        Assert.Equal((1, ""), (exit, output));
        Assert.Equal($"actorckpt: '{Root}' does not exist" + Environment.NewLine, err);
        Assert.False(Path.Exists(Root));
    }

    [Fact]
    public async Task A_rebuild_killed_while_it_builds_should_leave_the_old_catalog_in_place()
    {
        Assert.Equal(0, (await RunAsync("demo", "--dir", Root, "--size-mb", "1", "--tensors", "4", "--ranks", "2", "--steps", "3")).Exit);
        var catalog = Path.Combine(Root, CheckpointLayout.CatalogFile);
        var building = catalog + CatalogRebuildCommand.Building;
        var old = await File.ReadAllBytesAsync(catalog);

        // SIGKILL as soon as the new catalog is being built (a kill that lands after the swap proves
        // nothing: tried again). Before, the old catalog was renamed away first, and a kill then left
        // an empty one: ls showed no step, verify called every step BAD.
        var caught = false;
        for (var attempt = 0; attempt < 5 && !caught; attempt++)
        {
            var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { typeof(ActorCkptCli).Assembly.Location, "catalog", "rebuild", Root }) psi.ArgumentList.Add(a);
            using var rebuild = System.Diagnostics.Process.Start(psi)!;
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
            while (!File.Exists(building) && !rebuild.HasExited && DateTime.UtcNow < deadline) await Task.Delay(5);
            rebuild.Kill();
            await rebuild.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
            caught = File.Exists(building);
        }
        Assert.True(caught, "no kill landed while the new catalog was being built");
        Assert.Equal(old, await File.ReadAllBytesAsync(catalog));

        var ls = await RunAsync("ls", Root, "--json");
        Assert.Equal(new long[] { 1, 2, 3 }, JsonDocument.Parse(Lines(ls.Out)[^1]).RootElement.GetProperty("checkpoints").EnumerateArray()
            .Where(c => c.GetProperty("status").GetString() == "committed").Select(c => c.GetProperty("step").GetInt64()));
        Assert.Equal(0, (await RunAsync("verify", Root)).Exit);
        // The rebuild run again starts its new catalog afresh and swaps it in.
        var again = await RunAsync("catalog", "rebuild", Root);
        Assert.Equal(0, again.Exit);
        Assert.Contains($"rebuilt the catalog of {Root}: 3 committed steps admitted (1, 2, 3)", again.Out);
        Assert.False(File.Exists(building));
        // Built under another name, the catalog was claimed and the root marked as for a catalog outside it; before, the
        // claim (and the killed rebuild's holder record) and the mark stayed in the root for good.
        Assert.DoesNotContain(Directory.GetFiles(Root).Select(Path.GetFileName), f => f!.Contains(".claim", StringComparison.Ordinal) || f == CheckpointLayout.MarkFile);
    }

    [Fact]
    public async Task A_root_whose_catalog_is_kept_elsewhere_should_be_refused_without_that_catalog_s_configuration_not_given_a_second_one()
    {
        Directory.CreateDirectory(_temp.Path);
        var config = Path.Combine(_temp.Path, "catalog.conf");
        await File.WriteAllTextAsync(config, $"actorckpt.catalog.connection-string = \"Data Source={Path.Combine(_temp.Path, "catalogs.db")}\"\n");
        Assert.Equal(0, (await RunAsync("demo", "--dir", Root, "--config", config, "--size-mb", "1", "--tensors", "4", "--ranks", "2", "--steps", "2")).Exit);
        var expected = $"actorckpt: checkpoint root '{Root}' keeps its catalog outside it (it has a {CheckpointLayout.MarkFile} and no {CheckpointLayout.CatalogFile}): " +
                       $"configure that catalog (actorckpt.catalog; for the tool, --config FILE), or give the root a catalog of its own from what is on disk with: actorckpt catalog rebuild {Root}";

        // Before: ls advised "actorckpt gc ROOT makes a new one", and gc (or a save) made a second catalog beside the first.
        foreach (var command in new[] { new[] { "ls", Root }, ["gc", Root], ["demo", "--dir", Root, "--size-mb", "1", "--steps", "1"] })
        {
            var refused = await RunAsync(command);
            Assert.Equal((1, expected), (refused.Exit, Assert.Single(Lines(refused.Err))));
            Assert.False(File.Exists(Path.Combine(Root, CheckpointLayout.CatalogFile)));
        }
        Assert.Equal(0, (await RunAsync("ls", Root, "--config", config)).Exit);
        // The advice runs as printed.
        Assert.Equal(0, (await RunAsync("catalog", "rebuild", Root)).Exit);
        Assert.Contains("step 2: committed", (await RunAsync("ls", Root)).Out);
    }

    [Fact]
    public async Task A_copy_of_a_root_sharing_a_catalog_file_should_be_refused_until_rebuilt_and_its_rebuild_should_leave_the_original_s_catalog_alone()
    {
        // A SQLite catalog named outside the roots: both roots' catalogs live in it, keyed by root id, as on PostgreSQL.
        Directory.CreateDirectory(_temp.Path);
        var config = Path.Combine(_temp.Path, "catalog.conf");
        var shared = Path.Combine(_temp.Path, "catalogs.db");
        await File.WriteAllTextAsync(config, $"actorckpt.catalog.connection-string = \"Data Source={shared}\"\n");
        var copy = Path.Combine(_temp.Path, "copy");
        string[] Demo(string root, params string[] more) => ["demo", "--dir", root, "--config", config, "--size-mb", "1", "--tensors", "4", "--ranks", "2", .. more];
        Assert.Equal(0, (await RunAsync(Demo(Root, "--steps", "2"))).Exit);
        CopyDirectory(Root, copy);
        Assert.Equal(0, (await RunAsync(Demo(Root, "--steps", "1"))).Exit);

        var refused = await RunAsync(Demo(copy, "--steps", "1"));

        Assert.Equal(1, refused.Exit);
        Assert.Contains($"checkpoint root '{copy}' shares its catalog ('{shared}') with another root: the catalog's journal went on to event ", refused.Err);
        Assert.Contains($"(last opened from '{Root}' at ", refused.Err);
        // The advice runs as printed: it names the file that configures the catalog.
        Assert.Contains($"Give it a catalog of its own with: actorckpt catalog rebuild {copy} --config {config}\n", refused.Err);
        // Refused for good, said once: before, each of the planner's tries said it again (11 lines).
        Assert.Single(refused.Err.Split('\n'), l => l.Contains("shares its catalog"));
        Assert.Equal(new long[] { 1, 2 }, new CheckpointStore(new LocalBlobStore(copy)).CommittedSteps());
        // The readers say so too, in the same line. Before, they read the original's catalog as the copy's (ls listed it, exit 0).
        foreach (var command in new[] { "ls", "verify" })
        {
            var read = await RunAsync(command, copy, "--config", config);
            Assert.Equal(1, read.Exit);
            Assert.Equal("", read.Out);
            var line = Assert.Single(Lines(read.Err));
            Assert.StartsWith($"actorckpt: checkpoint root '{copy}' shares its catalog ('{shared}') with another root: the catalog's journal went on to event ", line);
            Assert.EndsWith($"Give it a catalog of its own with: actorckpt catalog rebuild {copy} --config {config}", line);
        }

        var markBefore = new CheckpointStore(new LocalBlobStore(copy)).ReadMark();
        var rebuilt = await RunAsync("catalog", "rebuild", copy, "--config", config);
        Assert.Equal((0, ""), (rebuilt.Exit, rebuilt.Err));
        Assert.Matches($@"^the old catalog is kept as the rows of the old root id \(its id file is kept as {Escaped(copy)}/catalog\.id\.replaced-[0-9]{{8}}T[0-9]{{6}}Z\)$", Lines(rebuilt.Out)[0]);
        // The mark went with the old id: before, it kept the old journal's last event, above the new journal's, and a copy of
        // the rebuilt root went unnoticed until the new journal passed that number (the two journaled into one catalog meanwhile).
        Assert.True(new CheckpointStore(new LocalBlobStore(copy)).ReadMark() < markBefore, $"the mark stayed at {markBefore}");
        Assert.Equal(0, (await RunAsync(Demo(copy, "--steps", "1"))).Exit);
        var copyOfCopy = Path.Combine(_temp.Path, "copy-of-copy");
        CopyDirectory(copy, copyOfCopy);
        Assert.Equal(0, (await RunAsync(Demo(copy, "--steps", "1"))).Exit);
        var refusedToo = await RunAsync(Demo(copyOfCopy, "--steps", "1"));
        Assert.Equal(1, refusedToo.Exit);
        Assert.Contains($"checkpoint root '{copyOfCopy}' shares its catalog ('{shared}') with another root", refusedToo.Err);
        // The shared file was not swapped for the copy's new catalog: the original's catalog is where it was, and it opens.
        var ls = await RunAsync("ls", Root, "--config", config, "--json");
        Assert.Equal(new long[] { 1, 2, 3 }, JsonDocument.Parse(Lines(ls.Out)[^1]).RootElement.GetProperty("checkpoints").EnumerateArray()
            .Where(c => c.GetProperty("status").GetString() == "committed").Select(c => c.GetProperty("step").GetInt64()));
        Assert.Equal(0, (await RunAsync(Demo(Root, "--steps", "1"))).Exit);
        Assert.Equal(4, new CheckpointStore(new LocalBlobStore(Root)).LatestStep());
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories)) Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories)) File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
    }

    private static string Escaped(string path) => System.Text.RegularExpressions.Regex.Escape(path);
}

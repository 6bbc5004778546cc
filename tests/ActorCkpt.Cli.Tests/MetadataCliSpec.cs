using System.Text;
using System.Text.Json;

namespace ActorCkpt.Cli.Tests;

/// <summary>
/// The metadata through the tool: <c>inspect --metadata-json</c> prints a step's metadata, stored in
/// the binary form, as the version-1 JSON document; <c>bench-plan --json</c> reports every metadata and
/// planning figure issue 21 names, with its target and whether it was met.
/// </summary>
public class MetadataCliSpec : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Inspect_with_metadata_json_should_print_the_version_1_document_byte_for_byte()
    {
        Assert.Equal(0, ToolRun.Run("demo", "--dir", _temp.Path, "--size-mb", "1", "--tensors", "4", "--steps", "2", "--ranks", "2").Exit);
        var store = new CheckpointStore(new LocalBlobStore(_temp.Path));
        Assert.True(MetadataBinary.IsBinary(store.ReadMetadataBytes(2)));

        var (exit, output, err) = ToolRun.Run("inspect", _temp.Path, "--step", "1", "--metadata-json");
        var newest = ToolRun.Run("inspect", _temp.Path, "--metadata-json");

        Assert.Equal((0, ""), (exit, err));
        Assert.Equal(Encoding.UTF8.GetString(MetadataJson.Serialize(store.ReadMetadata(1))), output);
        Assert.Equal(Encoding.UTF8.GetString(MetadataJson.Serialize(store.ReadMetadata(2))), newest.Out);
        // The document reads back as what the binary form holds.
        Assert.Equal(MetadataJson.Serialize(store.ReadMetadata(1)), MetadataJson.Serialize(MetadataJson.Deserialize(Encoding.UTF8.GetBytes(output), "printed")));
    }

    [Fact]
    public async Task Inspect_and_verify_should_write_a_key_that_would_break_its_line_as_a_json_string()
    {
        using (var t = TorchSharp.torch.zeros(3))
        using (var u = TorchSharp.torch.ones(2))
        await using (var ckpt = Checkpointer.Start(_temp.Path))
            await ckpt.SaveAsync(1, new RankState(0, 1).AddReplicated("odd.newline\nx", t).AddReplicated("plain", u).AddObject("odd.nul\0y", [1, 2], ObjectScope.Global));
        var store = new CheckpointStore(new LocalBlobStore(_temp.Path));
        var chunk = store.ReadMetadata(1).Tensors["odd.newline\nx"].Chunks.Single();
        var path = Path.Combine(_temp.Path, CheckpointLayout.InStep(1, chunk.Bytes.File));
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[chunk.Bytes.Offset] ^= 1;
        await File.WriteAllBytesAsync(path, bytes);

        var inspect = ToolRun.Run("inspect", _temp.Path, "--step", "1");
        var verify = ToolRun.Run("verify", _temp.Path, "--step", "1");

        // Before: "  odd.newline" and "x F32 [3] 12 bytes, 1 chunks" on two lines, the second read as a tensor named x; a raw NUL.
        var lines = inspect.Out.Split('\n');
        Assert.Single(lines, l => l.StartsWith("  \"odd.newline\\nx\" F32 [3] 12 bytes, 1 chunks", StringComparison.Ordinal));
        Assert.Single(lines, l => l.StartsWith("  plain F32 [2] 8 bytes, 1 chunks", StringComparison.Ordinal));
        Assert.Single(lines, l => l.StartsWith("  entry \"odd.nul\\u0000y\" (global)", StringComparison.Ordinal));
        Assert.DoesNotContain('\0', inspect.Out);
        Assert.Contains($"BAD file={chunk.Bytes.File} key=\"odd.newline\\nx\": ", verify.Out + verify.Err);
    }

    [Fact]
    public void Bench_plan_json_should_report_every_metadata_and_planning_figure_with_its_target()
    {
        var (exit, output, _) = ToolRun.Run("bench-plan", "--ranks", "16", "--items", "8", "--load-ranks", "5", "--repeat", "2", "--json");

        Assert.Equal(0, exit);
        var report = JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]).RootElement;
        string[] targeted = ["metadata_write_ms", "metadata_read_ms", "metadata_rank_read_ms", "global_plan_ms", "cached_plan_ms"];
        foreach (var field in targeted.Concat(["metadata_mb", "metadata_decode_ms", "metadata_json_mb", "metadata_json_write_ms", "metadata_json_read_ms"]))
            Assert.True(report.GetProperty(field).GetDouble() >= 0, field);
        Assert.Equal("binary", report.GetProperty("metadata_format").GetString());
        Assert.Equal(new[] { 300.0, 300, 30, 500, 2 }, targeted.Select(f => report.GetProperty("targets").GetProperty(f).GetDouble()));
        foreach (var field in targeted)
            Assert.Equal(report.GetProperty(field).GetDouble() <= report.GetProperty("targets").GetProperty(field).GetDouble(),
                report.GetProperty("targets_met").GetProperty(field).GetBoolean());
        // Every run is reported besides the median: 2 runs each, 5 ranks' reads per run.
        Assert.Equal(2, report.GetProperty("runs_ms").GetProperty("metadata_write").GetArrayLength());
        Assert.Equal(10, report.GetProperty("runs_ms").GetProperty("metadata_rank_read").GetArrayLength());
        Assert.InRange(report.GetProperty("metadata_bytes").GetInt64(), 1, report.GetProperty("metadata_json_bytes").GetInt64() - 1);
    }

    [Fact]
    public void Bench_plan_only_metadata_should_report_the_metadata_figures_alone_and_the_full_report_the_built_read_too()
    {
        var (exit, output, _) = ToolRun.Run("bench-plan", "--ranks", "16", "--items", "8", "--load-ranks", "5", "--repeat", "2", "--only", "metadata", "--json");

        Assert.Equal(0, exit);
        var report = JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]).RootElement;
        foreach (var field in new[] { "metadata_write_ms", "metadata_read_ms", "metadata_decode_ms", "metadata_read_built_ms", "metadata_rank_read_ms" })
            Assert.True(report.GetProperty(field).GetDouble() >= 0, field);
        Assert.True(report.GetProperty("cpu_ms").GetProperty("metadata_read").GetDouble() >= 0);
        Assert.Equal(2, report.GetProperty("runs_ms").GetProperty("metadata_read_built").GetArrayLength());
        Assert.False(report.TryGetProperty("global_plan_ms", out _));

        var (fullExit, full, _) = ToolRun.Run("bench-plan", "--ranks", "16", "--items", "8", "--load-ranks", "5", "--repeat", "2", "--json");
        Assert.Equal(0, fullExit);
        var all = JsonDocument.Parse(full.TrimEnd().Split('\n')[^1]).RootElement;
        Assert.True(all.GetProperty("metadata_read_built_ms").GetDouble() >= 0);
        Assert.True(all.GetProperty("global_plan_ms").GetDouble() >= 0);
    }
}

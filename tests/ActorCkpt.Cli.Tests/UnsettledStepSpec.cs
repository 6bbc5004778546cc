using ActorCkpt.Cli;
using static ActorCkpt.Cli.Tests.ToolRun;

namespace ActorCkpt.Cli.Tests;

/// <summary>
/// A committed step the catalog does not vouch for (a directory put in a root that has a catalog):
/// well formed and self-consistent, it is still not written out (export, unshard, inspect refuse it
/// in one line) and verify counts it as a problem; each run has 30 s.
/// </summary>
public sealed class UnsettledStepSpec : IDisposable
{
    private readonly TempDirectory _temp = new();

    private string Root => Path.Combine(_temp.Path, "root");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_step_the_catalog_has_no_record_of_should_not_be_exported_unsharded_or_inspected_and_should_fail_verify()
    {
        Assert.Equal(0, (await RunAsync("demo", "--dir", Root, "--size-mb", "1", "--tensors", "4", "--ranks", "2", "--steps", "1")).Exit);
        // Step 1's files copied as step 5, its "step" field changed to match: consistent, and unknown to the catalog.
        var from = Path.Combine(Root, CheckpointLayout.StepDirectory(1));
        var to = Path.Combine(Root, CheckpointLayout.StepDirectory(5));
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        var metadata = Path.Combine(to, CheckpointLayout.MetadataFile);
        File.WriteAllBytes(metadata, MetadataJson.Serialize(new CheckpointStore(new LocalBlobStore(Root)).ReadMetadata(1) with { Step = 5 }));
        var outDir = Path.Combine(_temp.Path, "out");
        var refusal = "actorckpt: step 5 is committed on disk but the catalog has no record of step 5: a planner's next start settles it (actorckpt gc does now); nothing was written" + Environment.NewLine;

        Assert.Equal((1, refusal), await Refused("export", Root, "--out", outDir));
        Assert.Equal((1, refusal), await Refused("unshard", Root, "--out", outDir, "--strategy", "one-file"));
        Assert.Equal((1, refusal), await Refused("inspect", Root, "--step", "5"));
        Assert.False(Path.Exists(outDir));

        var (exit, output, _) = await RunAsync("verify", Root);
        Assert.Equal(1, exit);
        Assert.Contains("BAD file=metadata.json key=(file): the catalog has no record of step 5", output.Split('\n'));
        Assert.Equal(0, (await RunAsync("verify", Root, "--step", "1")).Exit);
    }

    private static async Task<(int Exit, string Err)> Refused(params string[] args)
    {
        var (exit, _, err) = await RunAsync(args);
        return (exit, err);
    }
}

using ActorCkpt.Cli;
using static ActorCkpt.Cli.Tests.ToolRun;

namespace ActorCkpt.Cli.Tests;

/// <summary>
/// A committed step the catalog does not vouch for (a directory put in a root that has a catalog, or
/// a commit not journaled yet): well formed and self-consistent, it is still not written out (export,
/// unshard, inspect refuse it in one line), verify counts it as a problem, and without --step the
/// readers take the newest step the catalog vouches for, naming the one passed over.
/// </summary>
public sealed class UnsettledStepSpec : IDisposable
{
    private readonly TempDirectory _temp = new();

    private string Root => Path.Combine(_temp.Path, "root");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_step_the_catalog_has_no_record_of_should_not_be_exported_unsharded_or_inspected_and_should_fail_verify()
    {
        await StepFiveTheCatalogDoesNotKnowAsync();
        var outDir = Path.Combine(_temp.Path, "out");
        var refusal = "actorckpt: step 5 is committed on disk but the catalog has no record of step 5: a planner's next start settles it (actorckpt gc does now); nothing was written" + Environment.NewLine;

        Assert.Equal((1, refusal), await Refused("export", Root, "--out", outDir, "--step", "5"));
        Assert.Equal((1, refusal), await Refused("unshard", Root, "--out", outDir, "--step", "5", "--strategy", "one-file"));
        Assert.Equal((1, refusal), await Refused("inspect", Root, "--step", "5"));
        Assert.False(Path.Exists(outDir));

        var (exit, output, _) = await RunAsync("verify", Root, "--step", "5");
        Assert.Equal(1, exit);
        Assert.Contains("BAD file=metadata.json key=(file): the catalog has no record of step 5", output.Split('\n'));
        Assert.Equal(0, (await RunAsync("verify", Root, "--step", "1")).Exit);
    }

    [Fact]
    public async Task Without_a_step_the_readers_should_take_the_newest_step_the_catalog_vouches_for_and_name_the_one_passed_over()
    {
        // Beside a running job a step is on disk a moment before its commit is journaled: before,
        // verify called it BAD and export refused it, while the job was fine.
        await StepFiveTheCatalogDoesNotKnowAsync();
        var note = "note: step 5 is on disk but the catalog has no record of step 5 (a commit under way, or one a planner's next start settles): read step 1, the newest the catalog vouches for";

        var verify = await RunAsync("verify", Root);
        Assert.Equal(0, verify.Exit);
        Assert.Equal(note, verify.Out.Split('\n')[0]);
        Assert.Contains(verify.Out.Split('\n'), l => l.StartsWith("OK step 1:", StringComparison.Ordinal));
        var export = await RunAsync("export", Root, "--out", Path.Combine(_temp.Path, "hf"));
        Assert.Equal((0, note), (export.Exit, export.Out.Split('\n')[0]));
        Assert.Contains(export.Out.Split('\n'), l => l.StartsWith("exported step 1:", StringComparison.Ordinal));
        // Listed, as committed on disk, but marked; "latest" is the step the other readers take. Before: unmarked, and "latest: 5".
        var listing = await RunAsync("inspect", Root);
        Assert.Equal(0, listing.Exit);
        Assert.Contains(listing.Out.Split('\n'), l => l.StartsWith("step 5: ", StringComparison.Ordinal)
            && l.EndsWith(" (but the catalog has no record of step 5: a planner's next start settles it)", StringComparison.Ordinal));
        Assert.Contains("latest: 1", listing.Out.Split('\n'));
        var listed = System.Text.Json.JsonDocument.Parse((await RunAsync("inspect", Root, "--json")).Out.TrimEnd().Split('\n')[^1]).RootElement;
        Assert.Equal(1, listed.GetProperty("latest").GetInt64());
        Assert.Equal([(1L, true), (5L, false)], listed.GetProperty("steps").EnumerateArray().Select(r => (r.GetProperty("step").GetInt64(), r.GetProperty("settled").GetBoolean())));
        var inspect = await RunAsync("inspect", Root, "--metadata-json");
        Assert.Equal(0, inspect.Exit);
        // Its stdout is the metadata document alone: the note goes to stderr.
        Assert.Equal(1, System.Text.Json.JsonDocument.Parse(inspect.Out).RootElement.GetProperty("step").GetInt64());
    }

    /// <summary>A demo's committed step 1, and its files copied as step 5 with its "step" field changed to match: consistent, and unknown to the catalog.</summary>
    private async Task StepFiveTheCatalogDoesNotKnowAsync()
    {
        Assert.Equal(0, (await RunAsync("demo", "--dir", Root, "--size-mb", "1", "--tensors", "4", "--ranks", "2", "--steps", "1")).Exit);
        var from = Path.Combine(Root, CheckpointLayout.StepDirectory(1));
        var to = Path.Combine(Root, CheckpointLayout.StepDirectory(5));
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        File.WriteAllBytes(Path.Combine(to, CheckpointLayout.MetadataFile), MetadataJson.Serialize(new CheckpointStore(new LocalBlobStore(Root)).ReadMetadata(1) with { Step = 5 }));
    }

    private static async Task<(int Exit, string Err)> Refused(params string[] args)
    {
        var (exit, _, err) = await RunAsync(args);
        return (exit, err);
    }
}

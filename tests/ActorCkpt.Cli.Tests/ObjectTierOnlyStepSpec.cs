using System.Text.Json;

namespace ActorCkpt.Cli.Tests;

/// <summary>
/// A step whose disk copy retention deleted once the object tier held it (here a directory tier) is
/// committed: the commands that read steps on disk say where it is, in one line, rather than that
/// the root lost its metadata; the tier's root reads it.
/// </summary>
public sealed class ObjectTierOnlyStepSpec : IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromMinutes(2);
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Verify_inspect_and_export_of_a_step_only_the_object_tier_holds_should_name_the_tier_in_one_line()
    {
        var root = Path.Combine(_temp.Path, "root");
        var tier = Path.Combine(_temp.Path, "tier");
        Directory.CreateDirectory(_temp.Path);
        var config = Path.Combine(_temp.Path, "tier.conf");
        await File.WriteAllTextAsync(config, $"actorckpt.tiers.object {{ root = {JsonSerializer.Serialize(tier)}, every = 1 }}\n" +
                                             "actorckpt.retention { keep-last = 1, grace-after-start = 0s }\nakka.loglevel = WARNING\n");
        // Two runs: each demo waits for its uploads before it exits; the second's step 2 sends step 1 off the disk.
        for (var run = 0; run < 2; run++)
        {
            var demo = await ToolRun.RunAsync(Guard, "demo", "--dir", root, "--config", config, "--size-mb", "1", "--tensors", "4", "--steps", "1");
            Assert.True(demo.Exit == 0, demo.Out + demo.Err);
        }
        var ls = await ToolRun.RunAsync(Guard, "ls", root, "--config", config);
        Assert.StartsWith("step 1: committed [object], ", ls.Out);

        var line = $"actorckpt: step 1 is in the object tier only, under '{tier}', not under '{root}': this command reads steps on disk; " +
                   "give it the tier's root, which reads as a checkpoint root of its own";
        foreach (var command in new[] { new[] { "verify", root, "--step", "1" }, ["inspect", root, "--step", "1"], ["export", root, "--step", "1", "--out", Path.Combine(_temp.Path, "out")] })
        {
            // Before: "'step-00000001/metadata.json': the catalog records step 1 as committed, but the file is missing".
            var (exit, _, err) = await ToolRun.RunAsync(Guard, [.. command, "--config", config]);
            Assert.Equal((1, line), (exit, err.TrimEnd()));
        }
        Assert.False(Directory.Exists(Path.Combine(_temp.Path, "out")));
        var fromTier = await ToolRun.RunAsync(Guard, "verify", tier, "--step", "1");
        Assert.True(fromTier.Exit == 0, fromTier.Out + fromTier.Err);
    }
}

using ActorCkpt.Cli.Demo;

namespace ActorCkpt.Cli.Tests;

/// <summary>The cluster crash specs run one at a time: each is a cluster of five or six processes on two cores.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusterCrashCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "cluster crash";
}

/// <summary>
/// The crash harness's bounded schedule (CI): real node processes killed with SIGKILL at chosen
/// phases of a save, a writer node cut off and slowed in its own network namespace; after each
/// fault, the exact committed steps, unchanged bytes, a catalog that agrees with the disk, a next
/// save that commits and a bit-exact load. The long schedule is tests/crash/run-long.sh.
/// </summary>
[Collection(ClusterCrashCollection.Name)]
public class ClusterCrashSpec
{
    private static readonly IReadOnlyDictionary<long, StepOnDiskDigest> Nothing = new Dictionary<long, StepOnDiskDigest>();
    private static readonly (long, CheckpointStatus)[] NoLeftovers = Array.Empty<(long, CheckpointStatus)>();

    [Fact]
    public async Task A_writer_node_killed_mid_write_should_lose_its_files_to_the_other_writer_node_and_the_save_should_commit()
    {
        await using var h = await ClusterCrashHarness.StartAsync(new ClusterShape(WriterNodes: 2, RankNodes: 2, "spread", Isolated: false),
            new Dictionary<string, (string, long)> { ["writer-1"] = ("file-written", 2) });
        Assert.True((await h.SaveAsync(1)).Committed, h.Outputs);
        var (_, before) = await h.AssertAgreesAsync(new long[] { 1 }, Nothing, "step 1");

        var save = h.SaveAsync(2);
        await h.Writers[0].AssertKilledAtAsync("file-written", 2, ClusterCrashHarness.Guard);
        var run = await save;

        // The dead node's files moved to the other writer node: every rank saw the commit, and every
        // byte of step 2 was written by writer-2 (writer-1 died before it reported any file).
        Assert.Equal(new string?[] { null, null }, run.Errors);
        var writer2 = h.Writers[1].Address!.ToString();
        Assert.All(new CheckpointStore(new LocalBlobStore(h.Root)).ReadMetadata(2).Files, f => Assert.Equal(writer2, f.Node));
        await h.RestartAsync(h.Writers[0]);
        await h.AssertRecoveredAsync(new long[] { 1, 2 }, before, next: 3, NoLeftovers, "writer-1 killed after writing a file of step 2");
    }

    [Fact]
    public async Task A_writer_node_killed_while_a_push_reaches_it_should_lose_its_files_to_the_other_writer_node_and_the_save_should_commit()
    {
        // Rank nodes and writer nodes are apart: every byte crosses the bulk channel. Writer-1's
        // process dies with the first frame of a push in hand, before any file of its is complete.
        await using var h = await ClusterCrashHarness.StartAsync(new ClusterShape(WriterNodes: 2, RankNodes: 2, "spread", Isolated: false),
            new Dictionary<string, (string, long)> { ["writer-1"] = ("receiving", 2) });
        Assert.True((await h.SaveAsync(1)).Committed, h.Outputs);
        var (_, before) = await h.AssertAgreesAsync(new long[] { 1 }, Nothing, "step 1");

        var save = h.SaveAsync(2);
        await h.Writers[0].AssertKilledAtAsync("receiving", 2, ClusterCrashHarness.Guard);
        var run = await save;

        Assert.Equal(new string?[] { null, null }, run.Errors);
        var writer2 = h.Writers[1].Address!.ToString();
        Assert.All(new CheckpointStore(new LocalBlobStore(h.Root)).ReadMetadata(2).Files, f => Assert.Equal(writer2, f.Node));
        await h.RestartAsync(h.Writers[0]);
        await h.AssertRecoveredAsync(new long[] { 1, 2 }, before, next: 3, NoLeftovers, "writer-1 killed while receiving a push of step 2");
    }

    [Fact]
    public async Task A_planner_node_killed_before_the_metadata_is_durable_should_leave_the_step_uncommitted_and_once_it_is_durable_committed()
    {
        // One cluster for both phases (a cluster is the costly part): the planner starts with the
        // first kill point, and is restarted with the second.
        await using var h = await ClusterCrashHarness.StartAsync(new ClusterShape(WriterNodes: 1, RankNodes: 2, "spread", Isolated: false),
            new Dictionary<string, (string, long)> { ["planner"] = ("metadata-written", 2) });
        Assert.True((await h.SaveAsync(1)).Committed, h.Outputs);
        var (_, before) = await h.AssertAgreesAsync(new long[] { 1 }, Nothing, "step 1");

        var save = h.SaveAsync(2);
        await h.Planner.AssertKilledAtAsync("metadata-written", 2, ClusterCrashHarness.Guard);
        var run = await save;
        Assert.Equal(Enumerable.Repeat($"save of step 2 failed: {PlannerLost(h)}", 2), run.Errors);
        await h.RestartAsync(h.Planner, ("renamed", 4));

        // The metadata never got its name: step 2 is not committed, its directory is gone, and the
        // restarted planner's recovery says why.
        before = await h.AssertRecoveredAsync(new long[] { 1 }, before, next: 3, NoLeftovers, "planner killed at 'metadata-written' of step 2");
        Assert.Equal("the planner stopped while this save was in flight", await h.AbortReasonAsync(2));

        save = h.SaveAsync(4);
        await h.Planner.AssertKilledAtAsync("renamed", 4, ClusterCrashHarness.Guard);
        run = await save;
        // The ranks cannot know that the planner died after the commit point: they hear it lost.
        Assert.Equal(Enumerable.Repeat($"save of step 4 failed: {PlannerLost(h)}", 2), run.Errors);
        await h.RestartAsync(h.Planner);

        // The metadata is in place: the restarted planner's recovery journals the commit from the disk.
        await h.AssertRecoveredAsync(new long[] { 1, 3, 4 }, before, next: 5, NoLeftovers, "planner killed at 'renamed' of step 4");
    }

    [NetnsFact]
    public async Task A_writer_node_cut_off_during_a_save_should_make_it_abort_at_its_deadline_and_the_save_after_healing_should_commit()
    {
        await using var h = await ClusterCrashHarness.StartAsync(new ClusterShape(WriterNodes: 1, RankNodes: 2, "local", Isolated: true, NetworkHocon));
        var writer = h.IndexOf(h.Writers[0]);
        Assert.True((await h.SaveAsync(1)).Committed, h.Outputs);
        var (_, before) = await h.AssertAgreesAsync(new long[] { 1 }, Nothing, "step 1");

        // Slowed so that the cut lands while the bytes are on their way: cut once the first data file of step 2 is begun.
        h.Net!.Slow(writer, "16mbit");
        var save = h.SaveAsync(2);
        await UntilAsync(() => DataFiles(h.Root, 2).Length > 0, "a data file of step 2 begun");
        h.Net.Cut(writer);
        h.Note("cut writer-1");
        var run = await save;

        Assert.Equal(Enumerable.Repeat("save of step 2 failed: ranks 0, 1 did not finish writing within 00:00:12", 2), run.Errors);
        h.Net.Heal(writer);
        h.Net.Unslow(writer);
        h.Note("healed writer-1");
        Assert.Equal("ranks 0, 1 did not finish writing within 00:00:12", await h.AbortReasonAsync(2));
        // The aborted attempt's directory stays (a writer may still be busy in it: its files carry the attempt's tag).
        await h.AssertRecoveredAsync(new long[] { 1 }, before, next: 3, new[] { (2L, CheckpointStatus.Aborted) }, "writer-1 cut off during the save of step 2");
    }

    [NetnsFact]
    public async Task A_slowed_writer_link_should_slow_the_save_and_a_link_too_slow_for_the_deadline_should_abort_it()
    {
        await using var h = await ClusterCrashHarness.StartAsync(new ClusterShape(WriterNodes: 1, RankNodes: 2, "local", Isolated: true, NetworkHocon));
        var writer = h.IndexOf(h.Writers[0]);
        Assert.True((await h.SaveAsync(1)).Committed, h.Outputs);
        var (_, before) = await h.AssertAgreesAsync(new long[] { 1 }, Nothing, "step 1");

        // 16 Mbit/s: the save takes longer, and commits.
        h.Net!.Slow(writer, "16mbit");
        Assert.True((await h.SaveAsync(2)).Committed, h.Outputs);
        var (bytes, overlimits) = h.Net.Shaped(writer);
        var dataBytes = new CheckpointStore(new LocalBlobStore(h.Root)).ReadMetadata(2).TotalFileBytes;
        // Every byte of the step went to the writer through the limit, which held packets back.
        Assert.True(bytes > dataBytes && overlimits > 0, $"{bytes} bytes through the limit, {overlimits} overlimits, {dataBytes} bytes of data");
        (_, before) = await h.AssertAgreesAsync(new long[] { 1, 2 }, before, "step 2 over a slowed link");
        await h.AssertLoadsBitExactAsync(2, "step 2 over a slowed link");

        // 200 kbit/s: the 3 MiB cannot reach the writer before the write deadline.
        h.Net.Slow(writer, "200kbit");
        var run = await h.SaveAsync(3);
        Assert.Equal(Enumerable.Repeat("save of step 3 failed: ranks 0, 1 did not finish writing within 00:00:12", 2), run.Errors);
        h.Net.Unslow(writer);
        Assert.Equal("ranks 0, 1 did not finish writing within 00:00:12", await h.AbortReasonAsync(3));
        await h.AssertRecoveredAsync(new long[] { 1, 2 }, before, next: 4, new[] { (3L, CheckpointStatus.Aborted) }, "step 3 over a link too slow");
    }

    /// <summary>
    /// A write deadline short enough for a test (a save here takes a second or two) and a
    /// split-brain resolver too slow to down a cut node meanwhile: the deadline, not the downing, ends the save.
    /// </summary>
    private const string NetworkHocon = """
        actorckpt.planner.write-timeout = 12s
        akka.cluster.split-brain-resolver.stable-after = 120s
        """;

    /// <summary>What a rank hears when the planner's node dies under its save (before the planner restarts).</summary>
    private static string PlannerLost(ClusterCrashHarness h) => $"the planner {h.Planner.Address}/user/actorckpt-planner/planner/planner was lost";

    private static string[] DataFiles(string root, long step)
    {
        var dir = Path.Combine(root, CheckpointLayout.StepDirectory(step));
        return Directory.Exists(dir) ? Directory.GetFiles(dir, "*.safetensors*") : Array.Empty<string>();
    }

    private static async Task UntilAsync(Func<bool> done, string what)
    {
        var deadline = DateTime.UtcNow + ClusterCrashHarness.Guard;
        while (!done())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"not within {ClusterCrashHarness.Guard}: {what}");
            await Task.Delay(20);
        }
    }
}

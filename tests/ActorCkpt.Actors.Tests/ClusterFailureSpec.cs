using Akka.Actor;
using TorchSharp;

namespace ActorCkpt.Actors.Tests;

public class ClusterFailureSpec : NodeSpec
{
    private static readonly IReadOnlyList<(string Key, DType DType, Layout Layout, long Rows, long Cols)> Model =
        TestStates.Model(new[] { DType.Float32, DType.Int32 }, new[] { Layout.Rows, Layout.Replicated, Layout.Columns });

    /// <summary>
    /// A node that dies as a crash would: no graceful leave (TestCluster's nodes never leave on
    /// terminate), and once downed it does not run its shutdown; the others must detect it and down it.
    /// </summary>
    private const string Crashes = """
        akka.cluster.run-coordinated-shutdown-when-down = off
        actorckpt.writer.max-retries = 10
        """;

    [Fact]
    public async Task A_writer_node_killed_mid_save_should_have_its_files_reassigned_and_the_save_commit_bit_exact()
    {
        BlockingBlobStore? blocking = null;
        await using var cluster = await TestCluster.StartAsync(Root,
            "actorckpt.planner.placement = spread\nakka.stream.materializer.stream-ref.subscription-timeout = 3s",
            new TestNode("rank, planner"), new TestNode("writer"),
            new TestNode("writer", s => blocking = new BlockingBlobStore(s), Crashes));
        await cluster.AwaitWritersAsync(4, Patience);
        var states = TestStates.Build(Model, 4, seed: 11);

        var handles = states.Select(s => cluster.Nodes[0].Save(1, s)).ToArray();
        await blocking!.Entered.WaitAsync(Patience);
        var crash = cluster.CrashAsync(2);
        blocking.Release();
        await crash.WaitAsync(Patience);
        await Task.WhenAll(handles.Select(h => h.Committed)).WaitAsync(Patience);

        var md = cluster.Nodes[0].Store.ReadMetadata(1);
        Assert.All(md.Files, f => Assert.Equal(TestCluster.Address(cluster.Systems[1]).ToString(), f.Node));
        var targets = TestStates.Empty(Model, 3);
        await Task.WhenAll(targets.Select(t => cluster.Nodes[0].LoadAsync(t))).WaitAsync(Patience);
        Assert.Empty(TestStates.Differences(Model, targets, seed: 11));
        TestStates.Dispose(states.Concat(targets));
    }

    [Fact]
    public async Task A_rank_s_node_killed_mid_save_should_abort_the_save_at_once_not_at_the_write_deadline()
    {
        BlockingBlobStore? blocking = null;
        // The write deadline stays at its default (10 minutes): the save must end long before it.
        await using var cluster = await TestCluster.StartAsync(Root, "",
            new TestNode("rank, writer, planner"), new TestNode("rank, writer", s => blocking = new BlockingBlobStore(s), Crashes), new TestNode("planner"));
        await cluster.AwaitWritersAsync(4, Patience);
        var states = TestStates.Build(Model, 2, seed: 12);

        var first = cluster.Nodes[0].Save(1, states[0]);
        _ = cluster.Nodes[1].Save(1, states[1]);
        await blocking!.Entered.WaitAsync(Patience);
        var lost = TestCluster.Address(cluster.Systems[1]);
        var crash = cluster.CrashAsync(1);
        blocking.Release();
        await crash.WaitAsync(Patience);

        var e = await Assert.ThrowsAsync<CheckpointFailedException>(() => first.Committed.WaitAsync(Patience));
        Assert.Equal($"rank 1 left the cluster with node {lost}", e.Reason);
        // Rank 0 is free again: its next save (on one rank now) commits.
        var alone = TestStates.Build(Model, 1, seed: 13);
        await cluster.Nodes[0].Save(2, alone[0]).Committed.WaitAsync(Patience);
        TestStates.Dispose(states.Concat(alone));
    }

    [Fact]
    public async Task A_node_the_split_brain_resolver_downs_should_fail_its_save_at_once_and_refuse_the_next_save_and_load_naming_why()
    {
        // Keep-majority on an even split keeps the side with the lower address: the planner's node gets
        // the lower port, so when it dies, the rank's node downs itself. Its actor system runs on, as in
        // ActorCkpt.TestKit's clusters; the save there waited out its verdict deadline (11 minutes) in silence.
        var ports = new[] { LoopbackPort.Free(), LoopbackPort.Free() };
        while (ports[0] == ports[1]) ports[1] = LoopbackPort.Free();
        Array.Sort(ports);
        await using var cluster = await TestCluster.StartAsync(Root, "",
            new TestNode("planner, writer", Extra: $"akka.remote.dot-netty.tcp.port = {ports[0]}"),
            new TestNode("rank, writer", Extra: $"akka.remote.dot-netty.tcp.port = {ports[1]}\n{Crashes}"));
        await cluster.AwaitWritersAsync(4, Patience);
        var states = TestStates.Build(Model, 1, seed: 15);
        var survivor = TestCluster.Address(cluster.Systems[1]);

        await cluster.CrashAsync(0);
        var save = cluster.Nodes[1].Save(1, states[0]);

        var why = $"this node ({survivor}) was downed, so it is no longer a member of its cluster and no planner can reach it " +
            "(the split-brain resolver downs the side of a split that lost, and a Down command does too); restart the process to join the cluster again";
        var e = await Assert.ThrowsAsync<CheckpointFailedException>(() => save.Committed.WaitAsync(Patience));
        Assert.Equal($"{why}; it was cut off before its verdict (the catalog tells whether it committed)", e.Reason);
        Assert.False(cluster.Systems[1].WhenTerminated.IsCompleted);
        var next = await Assert.ThrowsAsync<ActorCkptException>(() => cluster.Nodes[1].Save(2, states[0]).Committed);
        Assert.Equal($"{why}: the save of step 2 was not started", next.Message);
        var target = TestStates.Empty(Model, 1);
        var load = await Assert.ThrowsAsync<ActorCkptException>(() => cluster.Nodes[1].LoadAsync(target[0]));
        Assert.Equal($"{why}: the load was not started", load.Message);
        TestStates.Dispose(states.Concat(target));
    }

    [Fact]
    public async Task A_node_without_the_planner_role_should_start_whatever_the_planner_dispatcher_names()
    {
        // A dispatcher defined only where the planner runs: the rank and writer node has no use for it.
        await using var cluster = await TestCluster.StartAsync(Root, "",
            new TestNode("rank, writer, planner"), new TestNode("rank, writer", Extra: "actorckpt.planner.dispatcher = only-on-planner-nodes"));
        await cluster.AwaitWritersAsync(4, Patience);
        var states = TestStates.Build(Model, 1, seed: 14);

        await cluster.Nodes[1].Save(1, states[0]).Committed.WaitAsync(Patience);
        TestStates.Dispose(states);
    }

    [Fact]
    public async Task With_no_writer_left_the_save_should_fail_with_a_clear_error_and_the_next_save_succeed_once_writers_are_back()
    {
        BlockingBlobStore? blocking = null;
        await using var cluster = await TestCluster.StartAsync(Root, "akka.stream.materializer.stream-ref.subscription-timeout = 3s",
            new TestNode("rank, planner"), new TestNode("rank, planner"),
            new TestNode("writer", s => blocking = new BlockingBlobStore(s), Crashes));
        await cluster.AwaitWritersAsync(2, Patience);
        var state = new RankState(0, 1).AddReplicated("w", torch.ones(64, 64));

        var handle = cluster.Nodes[0].Save(1, state);
        await blocking!.Entered.WaitAsync(Patience);
        var crash = cluster.CrashAsync(2);
        blocking.Release();
        await crash.WaitAsync(Patience);
        var e = await Assert.ThrowsAsync<CheckpointFailedException>(() => handle.Committed.WaitAsync(Patience));
        Assert.Contains("no writer left", e.Message);

        // A writer node joins again: saving the same step again succeeds (the aborted attempt ends
        // at once, not at the write deadline).
        var writer = await cluster.JoinAsync(new TestNode("writer"));
        await cluster.AwaitWritersAsync(2, Patience);
        await cluster.Nodes[0].Save(1, state).Committed.WaitAsync(Patience);
        Assert.Equal(TestCluster.Address(writer).ToString(), Assert.Single(cluster.Nodes[0].Store.ReadMetadata(1).Files).Node);
    }

    [Fact]
    public async Task Losing_the_planner_node_should_abort_the_save_in_flight_and_the_next_save_succeed_on_the_moved_singleton()
    {
        // Node 0 is the oldest planner node, so it hosts the singleton; node 1 takes over.
        BlockingBlobStore? blocking = null;
        await using var cluster = await TestCluster.StartAsync(Root, "",
            new TestNode("planner", Extra: Crashes), new TestNode("rank, writer, planner", s => blocking = new BlockingBlobStore(s)),
            new TestNode("writer, planner"));
        await cluster.AwaitWritersAsync(4, Patience);
        var states = TestStates.Build(Model, 2, seed: 12);

        // Writes hang, so the save is in flight (plans accepted, files assigned) when the planner's node dies.
        var first = states.Select(s => cluster.Nodes[1].Save(1, s)).ToArray();
        await blocking!.Entered.WaitAsync(Patience);
        await cluster.CrashAsync(0).WaitAsync(Patience);
        var e = await Assert.ThrowsAsync<CheckpointFailedException>(() => first[0].Committed.WaitAsync(Patience));
        Assert.Contains("the planner", e.Message);
        Assert.Contains("was lost", e.Message);
        blocking.Release();
        foreach (var h in first) await Assert.ThrowsAsync<CheckpointFailedException>(() => h.Committed.WaitAsync(Patience));
        Assert.Empty(cluster.Nodes[1].Store.CommittedSteps());

        await Task.WhenAll(states.Select(s => cluster.Nodes[1].Save(2, s).Committed)).WaitAsync(Patience);

        Assert.Equal(new long[] { 2 }, cluster.Nodes[1].Store.CommittedSteps());
        // The moved singleton recovered the catalog: the save it found in flight is recorded as
        // aborted and its directory is gone.
        var catalog = (await cluster.Nodes[1].Planner.Ask<CatalogRead>(new ReadCatalog(), Patience)).Entries;
        Assert.Equal(new[] { (1L, CheckpointStatus.Aborted), (2L, CheckpointStatus.Committed) }, catalog.Select(c => (c.Step, c.Status)));
        Assert.Equal(CatalogReconciler.InterruptedReason, catalog[0].Reason);
        Assert.False(Directory.Exists(Path.Combine(Root, CheckpointLayout.StepDirectory(1))));
        var targets = TestStates.Empty(Model, 3);
        await Task.WhenAll(targets.Select(t => cluster.Nodes[1].LoadAsync(t))).WaitAsync(Patience);
        Assert.Empty(TestStates.Differences(Model, targets, seed: 12));
        TestStates.Dispose(states.Concat(targets));
    }
}

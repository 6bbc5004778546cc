using Akka.Cluster;

namespace ActorCkpt.TestKit.Tests;

/// <summary>The in-process cluster of the kit: K nodes form, and a killed node is removed while the survivors save.</summary>
public sealed class ActorCkptTestClusterSpec : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly TempRoot _root = new();

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task StartAsync_should_form_a_cluster_of_K_nodes_every_one_up_and_seen_by_all()
    {
        await using var cluster = await ActorCkptTestCluster.StartAsync(_root.Path, 3).WaitAsync(Deadline);

        Assert.Equal(3, cluster.Nodes.Count);
        Assert.Equal(3, cluster.Nodes.Select(n => n.Address).Distinct().Count());
        Assert.All(cluster.Nodes, n => Assert.Equal("127.0.0.1", n.Address.Host));
        foreach (var node in cluster.Nodes)
            Assert.Equal(cluster.Nodes.Select(n => n.Address).OrderBy(a => a.Port),
                Cluster.Get(node.System).State.Members.Where(m => m.Status == MemberStatus.Up).Select(m => m.Address).OrderBy(a => a.Port));
        await cluster.AwaitReadyAsync(Deadline);
    }

    [Theory]
    [InlineData("held")]
    [InlineData("delayed")]
    public async Task A_writer_node_killed_mid_save_should_be_removed_and_the_save_on_the_survivors_commit_bit_exact(string write)
    {
        var faults = new StorageFaults();
        // A delay longer than any wait here: before, the kill waited it out (the write ended only when it did).
        var held = write == "held" ? faults.BlockWrite(1).Entered : faults.DelayWrite(1, TimeSpan.FromHours(1)).Fired;
        const string spread = "actorckpt.planner.placement = spread";
        await using var cluster = await ActorCkptTestCluster.StartAsync(_root.Path,
            Node(spread, null, "rank", "planner"), Node(spread, null, "writer"), Node(spread, faults, "writer")).WaitAsync(Deadline);
        await cluster.AwaitReadyAsync(Deadline);
        var ranks = cluster.Nodes[0].Checkpointer;

        // Two ranks on node 0; their files are spread over both writer nodes, and node 2's first write is held.
        var saves = new[] { ranks.SaveAsync(1, States.Build(0, 2, seed: 3)), ranks.SaveAsync(1, States.Build(1, 2, seed: 3)) };
        await held.WaitAsync(Deadline);
        await cluster.KillAsync(2).WaitAsync(Deadline);
        await cluster.AwaitRemovedAsync(2, Deadline);
        await Task.WhenAll(saves).WaitAsync(Deadline);

        Assert.True(cluster.Nodes[2].IsKilled);
        Assert.Equal(new[] { cluster.Nodes[0], cluster.Nodes[1] }, cluster.LiveNodes);
        var metadata = CheckpointReader.Open(_root.Path).ReadMetadata(1);
        Assert.All(metadata.Files, f => Assert.Equal(cluster.Nodes[1].Address.ToString(), f.Node));
        for (var rank = 0; rank < 2; rank++)
        {
            var target = States.Empty(rank, 2);
            await ranks.LoadAsync(target, 1).WaitAsync(Deadline);
            Assert.Empty(States.Differences(target, seed: 3));
        }
    }

    [Fact]
    public async Task Killing_a_node_should_leave_the_faults_it_shares_with_live_nodes_armed()
    {
        var faults = new StorageFaults();
        await using var cluster = await ActorCkptTestCluster.StartAsync(_root.Path,
            Node("", null, "rank", "planner"), Node("", faults, "writer"), Node("", faults, "writer")).WaitAsync(Deadline);
        await cluster.AwaitReadyAsync(Deadline);
        var held = faults.BlockWrite(1);
        await cluster.KillAsync(2).WaitAsync(Deadline);
        await cluster.AwaitRemovedAsync(2, Deadline);

        // Before: the kill released every block of the shared faults, so node 1's write went through unheld.
        var save = cluster.Nodes[0].Checkpointer.SaveAsync(1, States.Build(0, 1, seed: 5));
        Assert.Contains("step-00000001", await held.Entered.WaitAsync(Deadline));
        Assert.False(held.IsReleased);
        Assert.False(save.IsCompleted);
        held.Release();
        await save.WaitAsync(Deadline);
    }

    [Fact]
    public async Task A_node_of_two_killed_should_be_removed_and_the_survivor_save_alone()
    {
        await using var cluster = await ActorCkptTestCluster.StartAsync(_root.Path, 2).WaitAsync(Deadline);
        await cluster.AwaitReadyAsync(Deadline);

        await cluster.KillAsync(1).WaitAsync(Deadline);
        // One against one: before, the resolver kept the lowest address, and downed the survivor when that was the dead node's.
        await cluster.AwaitRemovedAsync(1, Deadline);
        Assert.Equal(MemberStatus.Up, Cluster.Get(cluster.Nodes[0].System).SelfMember.Status);
        await cluster.Nodes[0].Checkpointer.SaveAsync(1, States.Build(0, 1, seed: 4)).WaitAsync(Deadline);
    }

    [Fact]
    public async Task Misuse_should_be_refused_naming_it_and_a_disposed_cluster_refuse_every_call()
    {
        var cluster = await ActorCkptTestCluster.StartAsync(_root.Path, TestNodeOptions.WithRoles("rank", "writer")).WaitAsync(Deadline);

        var noPlanner = await Assert.ThrowsAsync<InvalidOperationException>(() => cluster.AwaitReadyAsync(Deadline));
        Assert.StartsWith("no live node has the planner role", noPlanner.Message);
        var outside = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => cluster.KillAsync(5));
        Assert.StartsWith("node 5 is not one of the cluster's 1 nodes (0 to 0)", outside.Message);
        Assert.DoesNotContain('\n', outside.Message);
        // Before: "after 00:00:00 the planner knows writers on 0 nodes", without asking; TimeSpan.MaxValue overflowed.
        Assert.StartsWith("timeout = 00:00:00: give a positive time", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => cluster.AwaitRemovedAsync(0, TimeSpan.Zero))).Message);
        // Before: the wait for a live node's removal lasted its whole timeout (for ever with an infinite one).
        var live = await Assert.ThrowsAsync<InvalidOperationException>(() => cluster.AwaitRemovedAsync(0, Timeout.InfiniteTimeSpan)).WaitAsync(Deadline);
        Assert.Equal($"{cluster.Nodes[0]} is not killed: a live node is never removed; kill it first (KillAsync)", live.Message);
        // Before: a node started with no live node to join formed a cluster of its own.
        await cluster.KillAsync(0).WaitAsync(Deadline);
        Assert.Equal("every node of the cluster is killed: there is no live node to join through",
            (await Assert.ThrowsAsync<InvalidOperationException>(() => cluster.JoinAsync(new TestNodeOptions()))).Message);

        await cluster.DisposeAsync();
        await cluster.DisposeAsync();   // once is enough; again is nothing

        // Before: JoinAsync started a node that joined dead seeds until its token fired, and KillAsync returned quietly.
        await Assert.ThrowsAsync<ObjectDisposedException>(() => cluster.JoinAsync(new TestNodeOptions()));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => cluster.KillAsync(0));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => cluster.AwaitReadyAsync(Deadline));
        var disposed = await Assert.ThrowsAsync<ObjectDisposedException>(() => cluster.AwaitRemovedAsync(0, Deadline));
        // Before: .NET's two lines, "Cannot access a disposed object." and "Object name: '…'.".
        Assert.Equal("the test cluster is disposed (its nodes are stopped): start another with ActorCkptTestCluster.StartAsync", disposed.Message);
        Assert.Single(cluster.Nodes);
    }

    [Fact]
    public async Task Nodes_that_are_null_or_have_a_role_that_is_not_one_should_be_refused_naming_them()
    {
        // Before: a NullReferenceException, and "CheckpointClusterOptions.Roles has 'bogus'", a type the test never touched.
        Assert.Equal("nodes", (await Assert.ThrowsAsync<ArgumentNullException>(() => ActorCkptTestCluster.StartAsync(_root.Path, (IReadOnlyList<TestNodeOptions>)null!))).ParamName);
        Assert.StartsWith("nodes[1] is null", (await Assert.ThrowsAsync<ArgumentNullException>(() => ActorCkptTestCluster.StartAsync(_root.Path, new TestNodeOptions(), null!))).Message);
        Assert.StartsWith("nodes[0].Roles has 'bogus', which is not a role: accepted roles are rank, writer, planner",
            (await Assert.ThrowsAsync<ArgumentException>(() => ActorCkptTestCluster.StartAsync(_root.Path, TestNodeOptions.WithRoles("rank", "bogus")))).Message);
        Assert.StartsWith("nodes[0].Roles has 'writer' twice (rank, writer, planner, writer): it starts with all three roles, and an initializer",
            (await Assert.ThrowsAsync<ArgumentException>(() => ActorCkptTestCluster.StartAsync(_root.Path, new TestNodeOptions { Roles = { "writer" } }))).Message);
        // Before: "CheckpointerOptions.Hocon: line 15: …", an option the test never set, and the line counted under the kit's own configuration.
        var hocon = await Assert.ThrowsAsync<Akka.Configuration.ConfigurationException>(() => ActorCkptTestCluster.StartAsync(_root.Path,
            new TestNodeOptions(), new TestNodeOptions { Hocon = "akka.loglevel = INFO\nakka { x = [ " }));
        Assert.StartsWith("nodes[1].Hocon: line 2: '[' is never closed", hocon.Message);
        Assert.Equal("count = 0: a cluster has at least one node (Parameter 'count')",
            (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => ActorCkptTestCluster.StartAsync(_root.Path, 0))).Message);
    }

    [Fact]
    public async Task A_cluster_whose_planner_gave_up_starting_should_be_said_never_ready_at_once_with_why()
    {
        // The root is held by a one-process checkpointer: the cluster's planner cannot take it.
        await using var holder = await Checkpointer.StartAsync(new CheckpointerOptions { Root = _root.Path }).WaitAsync(Deadline);
        await using var cluster = await ActorCkptTestCluster.StartAsync(_root.Path, 1).WaitAsync(Deadline);

        // Before: the whole timeout, then "the planner knows writers on 0 nodes, expected 1". An infinite one waits for an answer only.
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => cluster.AwaitReadyAsync(Timeout.InfiniteTimeSpan).WaitAsync(TimeSpan.FromMinutes(2)));
        Assert.StartsWith("the cluster is never ready: the checkpoint planner could not start", e.Message);
        Assert.Contains("held by another checkpointer", e.Message);
    }

    private static TestNodeOptions Node(string hocon, StorageFaults? faults, params string[] roles)
    {
        var node = TestNodeOptions.WithRoles(roles);
        node.Hocon = hocon;
        node.Faults = faults;
        return node;
    }
}

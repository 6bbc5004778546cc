using Akka.Configuration;
using TorchSharp;

namespace ActorCkpt.Host.Tests;

/// <summary>
/// Joining a cluster from user code through <see cref="CheckpointClusterOptions"/>: two
/// checkpointers in this process form a cluster on 127.0.0.1, each saving one rank; the shipped
/// cluster defaults lie under the user's HOCON; every missing or malformed option is named with its fix.
/// </summary>
public sealed class ClusterOptionsSpec : IDisposable
{
    private const string Quiet = "akka.loglevel = WARNING\nakka.stdout-loglevel = WARNING";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string Root => _temp.Path;

    private CheckpointerOptions Node(int port, params string[] seeds)
    {
        var cluster = new CheckpointClusterOptions { Port = port };
        foreach (var seed in seeds) cluster.SeedNodes.Add(seed);
        return new CheckpointerOptions { Root = Root, Hocon = Quiet, Cluster = cluster };
    }

    [Fact]
    public async Task Two_checkpointers_should_form_a_cluster_through_the_options_and_save_and_load_a_rank_each()
    {
        await using var first = await Checkpointer.StartAsync(Node(0)).WaitAsync(Patience);
        var port = Akka.Cluster.Cluster.Get(first.System).SelfAddress.Port!.Value;
        await using var second = await Checkpointer.StartAsync(Node(0, $"127.0.0.1:{port}")).WaitAsync(Patience);
        Assert.Equal(2, Akka.Cluster.Cluster.Get(second.System).State.Members.Count);

        using var w0 = torch.arange(0, 8, dtype: torch.float32).reshape(2, 4);
        using var w1 = torch.arange(8, 16, dtype: torch.float32).reshape(2, 4);
        var saved = await Task.WhenAll(
            first.SaveAsync(1, new RankState(0, 2).AddSharded("w", w0, 0, 0, 4)),
            second.SaveAsync(1, new RankState(1, 2).AddSharded("w", w1, 0, 2, 4))).WaitAsync(Patience);
        Assert.All(saved, r => Assert.Equal(1, r.Step));

        // Each node loads the other's rank: the bytes of both went to the one root.
        using var l1 = torch.zeros(2, 4);
        using var l0 = torch.zeros(2, 4);
        await Task.WhenAll(
            first.LoadAsync(new RankState(1, 2).AddSharded("w", l1, 0, 2, 4)),
            second.LoadAsync(new RankState(0, 2).AddSharded("w", l0, 0, 0, 4))).WaitAsync(Patience);
        Assert.Equal(w0.data<float>().ToArray(), l0.data<float>().ToArray());
        Assert.Equal(w1.data<float>().ToArray(), l1.data<float>().ToArray());
    }

    [Fact]
    public async Task The_shipped_cluster_defaults_should_lie_under_the_users_HOCON()
    {
        var options = Node(0);
        options.Hocon = Quiet + "\nakka.cluster.split-brain-resolver.stable-after = 7s";
        var config = CheckpointerConfig.Build(options);

        Assert.Equal(TimeSpan.FromSeconds(7), config.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after"));
        Assert.Equal("keep-majority", config.GetString("akka.cluster.split-brain-resolver.active-strategy"));
        Assert.Contains("SplitBrainResolverProvider", config.GetString("akka.cluster.downing-provider-class"));
        Assert.Equal(TimeSpan.FromSeconds(5), config.GetTimeSpan("akka.cluster.failure-detector.acceptable-heartbeat-pause"));
        Assert.Equal("planner", config.GetString("akka.cluster.singleton.role"));
        Assert.Equal("cluster", config.GetString("akka.actor.provider"));

        // And so they are in the running node.
        await using var node = await Checkpointer.StartAsync(options).WaitAsync(Patience);
        var running = node.System.Settings.Config;
        Assert.Equal(TimeSpan.FromSeconds(7), running.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after"));
        Assert.Equal("keep-majority", running.GetString("akka.cluster.split-brain-resolver.active-strategy"));
        Assert.Equal(new[] { "planner", "rank", "writer" }, Akka.Cluster.Cluster.Get(node.System).SelfRoles.Order());
    }

    [Fact]
    public async Task A_join_that_runs_out_of_time_should_name_the_seeds_and_the_fix_and_a_cancelled_one_be_cancelled()
    {
        // A seed nothing listens on: the join never completes.
        var seed = $"127.0.0.1:{LoopbackPort.Free()}";
        var late = Node(0, seed);
        late.Cluster!.JoinTimeout = TimeSpan.FromSeconds(2);

        // Before: Akka's ClusterJoinFailedException ("Node has not managed to join the cluster using provided addresses"), in both cases.
        var e = await Assert.ThrowsAsync<ActorCkptException>(() => Checkpointer.StartAsync(late).WaitAsync(Patience));
        Assert.EndsWith($"did not join the cluster within 00:00:02 through the seed nodes [akka.tcp://actorckpt@{seed}]: " +
                        "check that a seed node is up and reachable, or raise CheckpointClusterOptions.JoinTimeout", e.Message);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Checkpointer.StartAsync(Node(0, seed), cancel.Token).WaitAsync(Patience));
    }

    [Fact]
    public async Task A_port_another_process_holds_should_be_refused_in_one_line_saying_so()
    {
        var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        try
        {
            var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;

            // Before: five nested AggregateExceptions around "Failed to bind to [127.0.0.1:P]. See InnerException for details."
            var e = await Assert.ThrowsAsync<ActorCkptException>(() => Checkpointer.StartAsync(Node(port)).WaitAsync(Patience));
            Assert.Equal($"this node cannot listen on 127.0.0.1:{port} for Akka.Remote: the address is in use (another process holds it); " +
                         "give CheckpointClusterOptions.Port (akka.remote.dot-netty.tcp.port) another port, or 0 for a free one", e.Message);
        }
        finally
        {
            taken.Stop();
        }
    }

    [Theory]
    [InlineData(70000, "CheckpointClusterOptions.Port = 70000: must be between 0 and 65535 (0 picks a free port)")]
    [InlineData(-1, "CheckpointClusterOptions.Port = -1: must be between 0 and 65535 (0 picks a free port)")]
    public void A_port_out_of_range_should_be_refused(int port, string message)
    {
        Assert.Equal(message, Assert.Throws<ArgumentException>(() => Checkpointer.Start(Node(port))).Message);
    }

    [Fact]
    public void A_join_timeout_longer_than_a_timer_takes_should_be_refused()
    {
        var options = Node(0);
        options.Cluster!.JoinTimeout = TimeSpan.MaxValue;
        // Before, CancellationTokenSource.CancelAfter's own out-of-range error, after the system had started.
        Assert.Equal($"CheckpointClusterOptions.JoinTimeout = {TimeSpan.MaxValue}: must be positive, at most 24.20:31:23.6460000",
            Assert.Throws<ArgumentException>(() => Checkpointer.Start(options)).Message);
    }

    [Fact]
    public void Options_set_to_null_should_be_refused_naming_them()
    {
        // Before, a NullReferenceException naming nothing.
        Assert.Equal("CheckpointerOptions.MemoryTier is null: leave it out for its default, or set it",
            Assert.Throws<ArgumentException>(() => Checkpointer.Start(new CheckpointerOptions { Root = Root, MemoryTier = null! })).Message);
        Assert.Equal("CheckpointerOptions.ObjectTier is null: leave it out for its default, or set it",
            Assert.Throws<ArgumentException>(() => Checkpointer.Start(new CheckpointerOptions { Root = Root, ObjectTier = null! })).Message);
    }

    [Fact]
    public void Roles_should_be_some_of_rank_writer_planner()
    {
        var options = Node(0);
        options.Cluster!.Roles.Clear();
        Assert.Equal("CheckpointClusterOptions.Roles is empty: give at least one of rank, writer, planner (a training node has all three)",
            Assert.Throws<ArgumentException>(() => Checkpointer.Start(options)).Message);
        options.Cluster.Roles.Add("rank");
        options.Cluster.Roles.Add("ranks");
        Assert.Equal("CheckpointClusterOptions.Roles has 'ranks', which is not a role: accepted roles are rank, writer, planner",
            Assert.Throws<ArgumentException>(() => Checkpointer.Start(options)).Message);
        options.Cluster.Roles = null!;
        Assert.Equal("CheckpointClusterOptions.Roles is null: leave it out for all three roles (rank, writer, planner), or assign a list of some",
            Assert.Throws<ArgumentException>(() => Checkpointer.Start(options)).Message);
    }

    [Fact]
    public void An_initializer_that_adds_a_role_to_the_default_three_should_be_refused_naming_the_assignment_that_gives_only_it()
    {
        // Before: Roles = { "writer" } made the list rank, writer, planner, writer, and the node started as a full training node.
        var options = new CheckpointerOptions { Root = Root, Cluster = new CheckpointClusterOptions { Host = "127.0.0.1", Port = 0, Roles = { "writer" } } };
        Assert.Equal("CheckpointClusterOptions.Roles has 'writer' twice (rank, writer, planner, writer): it starts with all three roles, and an " +
                     "initializer (Roles = { \"writer\" }) adds to them; to give only some, assign a list: Roles = [\"writer\"]",
            Assert.Throws<ArgumentException>(() => Checkpointer.Start(options)).Message);
        Assert.False(Directory.Exists(Root));
        options.Cluster.Roles = ["writer", "planner"];
        Assert.Equal(["writer", "planner"], options.Cluster.Roles);
    }

    [Theory]
    [InlineData("127.0.0.1", "seed node '127.0.0.1' is not host:port with a port from 1 to 65535: give host:port or akka.tcp://actorckpt@host:port in CheckpointClusterOptions.SeedNodes")]
    [InlineData("127.0.0.1:0", "seed node '127.0.0.1:0' is not host:port with a port from 1 to 65535: give host:port or akka.tcp://actorckpt@host:port in CheckpointClusterOptions.SeedNodes")]
    [InlineData("akka.tcp://training@127.0.0.1:4053", "seed node 'akka.tcp://training@127.0.0.1:4053' names the actor system 'training', but this node's is 'actorckpt' (CheckpointClusterOptions.SystemName): nodes of one cluster share one name")]
    [InlineData("akka.tcp://actorckpt@127.0.0.1", "seed node 'akka.tcp://actorckpt@127.0.0.1' needs the protocol akka.tcp, a host and a port from 1 to 65535: give host:port or akka.tcp://actorckpt@host:port in CheckpointClusterOptions.SeedNodes")]
    public void A_malformed_seed_node_should_be_refused_naming_it_and_the_forms_accepted(string seed, string message)
    {
        Assert.Equal(message, Assert.Throws<ArgumentException>(() => Checkpointer.Start(Node(0, seed))).Message);
    }

    [Fact]
    public void Seed_nodes_in_either_form_should_parse_to_the_same_address()
    {
        Assert.Equal(CheckpointerConfig.ParseSeed("akka.tcp://actorckpt@127.0.0.1:4053", "actorckpt"), CheckpointerConfig.ParseSeed("127.0.0.1:4053", "actorckpt"));
    }

    [Fact]
    public async Task A_node_without_the_rank_role_should_refuse_to_save_naming_the_role_and_the_fix()
    {
        var options = Node(0);
        options.Cluster!.Roles.Remove("rank");
        await using var node = await Checkpointer.StartAsync(options).WaitAsync(Patience);
        using var w = torch.zeros(2);

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => node.SaveAsync(1, new RankState(0, 1).AddReplicated("w", w)));

        Assert.Equal("this node has no 'rank' role, so it cannot save or load ranks; add \"rank\" to its cluster roles (CheckpointClusterOptions.Roles with Checkpointer.Start, ClusterOptions.Roles with Akka.Hosting, or akka.cluster.roles)", e.Message);
    }

    [Fact]
    public async Task A_save_in_a_cluster_without_a_planner_role_node_should_fail_at_once_naming_it()
    {
        var options = Node(0);
        options.Cluster!.Roles.Remove("planner");
        await using var node = await Checkpointer.StartAsync(options).WaitAsync(Patience);
        using var w = torch.zeros(2);

        // Without the check this save would wait for planner.plan-timeout + write-timeout (10 minutes).
        var e = await Assert.ThrowsAsync<ActorCkptException>(() => node.SaveAsync(1, new RankState(0, 1).AddReplicated("w", w)).WaitAsync(Patience));

        Assert.Equal("no node of the cluster has the 'planner' role, so no planner can coordinate the save; add \"planner\" to the cluster roles of at least one node (CheckpointClusterOptions.Roles with Checkpointer.Start, ClusterOptions.Roles with Akka.Hosting, or akka.cluster.roles)", e.Message);
    }

    [Fact]
    public async Task A_catalog_request_no_planner_answers_should_time_out_naming_what_it_asked_and_the_setting()
    {
        var options = Node(0);
        options.Cluster!.Roles = ["rank", "writer"];
        options.Settings["planner.plan-timeout"] = "2s";
        await using var node = await Checkpointer.StartAsync(options).WaitAsync(Patience);

        // Before: Akka's "Timeout after 2 seconds", naming neither the planner nor the request.
        var e = await Assert.ThrowsAsync<TimeoutException>(() => node.ReadCatalogAsync().WaitAsync(Patience));
        Assert.Equal("the checkpoint planner did not tell the catalog within 2 s (actorckpt.planner.plan-timeout)", e.Message);
        e = await Assert.ThrowsAsync<TimeoutException>(() => node.GetLatestStepAsync().WaitAsync(Patience));
        Assert.Equal("the checkpoint planner did not tell the newest step within 2 s (actorckpt.planner.plan-timeout)", e.Message);
    }

    [Fact]
    public void A_misspelled_setting_should_refuse_the_start_naming_the_nearest_key()
    {
        var options = new CheckpointerOptions { Root = Root, Settings = { ["retention.keep-lst"] = "3" } };
        Assert.Equal("actorckpt.retention.keep-lst is not a setting; did you mean actorckpt.retention.keep-last?",
            Assert.Throws<ConfigurationException>(() => Checkpointer.Start(options)).Message);
    }
}

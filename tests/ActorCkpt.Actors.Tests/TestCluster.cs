using Akka.Actor;
using Akka.Configuration;

namespace ActorCkpt.Actors.Tests;

/// <summary>One node of a <see cref="TestCluster"/>.</summary>
/// <param name="Roles">Its cluster roles, e.g. "rank, writer".</param>
/// <param name="Store">Wraps its storage (a fault-injecting or blocking store), or null.</param>
/// <param name="Extra">HOCON on top of the cluster's own.</param>
/// <param name="Settings">Its settings from its actor system (settings HOCON does not reach yet, as the memory tier's), or null for the system's own.</param>
internal sealed record TestNode(string Roles, Func<IBlobStore, IBlobStore>? Store = null, string Extra = "", Func<ActorSystem, ActorCkptSettings>? Settings = null);

/// <summary>
/// A cluster of real ActorSystems in this process, on 127.0.0.1 with free ports, each with an
/// ActorCkpt node over one shared checkpoint directory. Fast failure detection; every join is
/// started before any is awaited; nodes shut down one at a time.
/// </summary>
internal sealed class TestCluster : IAsyncDisposable
{
    public const string FastFailureDetection = """
        akka.loglevel = WARNING
        akka.stdout-loglevel = WARNING
        akka.log-dead-letters = off
        akka.cluster.failure-detector.heartbeat-interval = 300ms
        # 3 s, not less: joins flapped when the three systems' warm-ups and the CLI suite beside them
        # starved heartbeats for over 1.5 s, and one cluster never formed (a crash is downed after 5 s).
        akka.cluster.failure-detector.acceptable-heartbeat-pause = 3s
        akka.cluster.split-brain-resolver.stable-after = 2s
        akka.cluster.min-nr-of-members = 1
        # Terminate stops a node as a crash would (no leave); a node leaves on purpose through CoordinatedShutdown.
        akka.coordinated-shutdown.run-by-actor-system-terminate = off
        actorckpt.writer.backoff-min = 5ms
        actorckpt.writer.backoff-max = 20ms
        actorckpt.writer.pool-size = 2
        """;

    /// <summary>
    /// How long a join may take before the test fails as hung. A join after a crash waits for the
    /// split-brain resolver to down the crashed node; on two cores beside a CI run at load 19 that
    /// took over a minute once.
    /// </summary>
    private static readonly TimeSpan JoinGuard = TimeSpan.FromMinutes(3);

    private readonly List<ActorSystem> _stopped = new();
    private readonly List<ActorSystem> _systems;
    private readonly List<CheckpointNode> _nodes;
    private readonly string _common;

    private TestCluster(string root, string common, List<ActorSystem> systems, List<CheckpointNode> nodes)
    {
        Root = root;
        _common = common;
        _systems = systems;
        _nodes = nodes;
    }

    public string Root { get; }

    public IReadOnlyList<ActorSystem> Systems => _systems;

    public IReadOnlyList<CheckpointNode> Nodes => _nodes;

    public static async Task<TestCluster> StartAsync(string root, string common, params TestNode[] specs)
    {
        var started = specs.Select(s => Start(root, common, s)).ToList();
        var seed = Address(started[0].System);
        // JoinSeedNodesAsync completes only when the node is Up: start every join, then await them together.
        await Joined(Task.WhenAll(started.Select(s => Akka.Cluster.Cluster.Get(s.System).JoinSeedNodesAsync(new[] { seed }))), "the cluster did not form",
            started.Select(s => s.System));
        return new TestCluster(root, common, started.Select(s => s.System).ToList(), started.Select(s => s.Node).ToList());
    }

    /// <summary>Starts one more node and joins it through the surviving nodes.</summary>
    public async Task<ActorSystem> JoinAsync(TestNode spec)
    {
        var (system, node) = Start(Root, _common, spec);
        var seeds = _systems.Where(s => !_stopped.Contains(s)).Select(Address).ToArray();
        await Joined(Akka.Cluster.Cluster.Get(system).JoinSeedNodesAsync(seeds), $"node {Address(system)} did not join", _systems.Append(system));
        _systems.Add(system);
        _nodes.Add(node);
        return system;
    }

    private static (ActorSystem System, CheckpointNode Node) Start(string root, string common, TestNode spec)
    {
        var system = ActorSystem.Create("ckpt", ActorCkptConfig.WithCatalog(ConfigurationFactory
            .ParseString($"akka.cluster.roles = [{spec.Roles}]\n{spec.Extra}\n{FastFailureDetection}\n{common}")
            .WithFallback(ActorCkptConfig.Cluster)
            .WithFallback(ActorCkptConfig.Defaults), root));
        IBlobStore blobs = new LocalBlobStore(root);
        return (system, CheckpointNode.Start(system, spec.Store?.Invoke(blobs) ?? blobs, spec.Settings?.Invoke(system)));
    }

    /// <summary>Waits for <paramref name="joins"/> within <see cref="JoinGuard"/>; a hang fails saying <paramref name="what"/> and each node's view.</summary>
    private static async Task Joined(Task joins, string what, IEnumerable<ActorSystem> systems)
    {
        if (await Task.WhenAny(joins, Task.Delay(JoinGuard)) != joins) throw new TimeoutException($"{what} in {JoinGuard}: {Describe(systems)}");
        await joins;
    }

    /// <summary>Each node's view of the cluster, for a join that hung: who it sees, in what state, and who is unreachable.</summary>
    private static string Describe(IEnumerable<ActorSystem> systems) => string.Join("; ", systems.Select(s =>
    {
        var state = Akka.Cluster.Cluster.Get(s).State;
        var members = string.Join(", ", state.Members.Select(m => $"{m.Address.Port} {m.Status}"));
        var unreachable = string.Join(", ", state.Unreachable.Select(m => m.Address.Port));
        return $"{Address(s).Port} sees [{members}] unreachable [{unreachable}] leader {state.Leader?.Port}";
    }));

    public static Address Address(ActorSystem system) => ((ExtendedActorSystem)system).Provider.DefaultAddress;

    /// <summary>Waits until the planner knows <paramref name="count"/> writers.</summary>
    public async Task AwaitWritersAsync(int count, TimeSpan patience)
    {
        var deadline = DateTime.UtcNow + patience;
        var asking = _nodes[_systems.FindIndex(s => !_stopped.Contains(s))];
        while (true)
        {
            var known = await asking.KnownWritersAsync(patience);
            if (known.Count == count) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the planner knows {known.Count} writers, expected {count}");
            await Task.Delay(50);
        }
    }

    /// <summary>
    /// Stops node <paramref name="index"/> without leaving the cluster, as a crash would (its
    /// coordinated shutdown, which would leave first, does not run): the others must detect and down it.
    /// </summary>
    public Task CrashAsync(int index)
    {
        _stopped.Add(Systems[index]);
        return Systems[index].Terminate();
    }

    /// <summary>Stops node <paramref name="index"/> as a graceful shutdown would: it leaves the cluster first.</summary>
    public Task LeaveAsync(int index)
    {
        _stopped.Add(Systems[index]);
        return CoordinatedShutdown.Get(Systems[index]).Run(CoordinatedShutdown.ClrExitReason.Instance);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var system in Systems.Reverse().Where(s => !_stopped.Contains(s)))
        {
            await CoordinatedShutdown.Get(system).Run(CoordinatedShutdown.ClrExitReason.Instance).WaitAsync(TimeSpan.FromSeconds(30));
            await system.WhenTerminated.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }
}

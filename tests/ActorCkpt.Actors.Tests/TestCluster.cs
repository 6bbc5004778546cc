using Akka.Actor;
using Akka.Configuration;
using ActorCkpt.Actors;
using ActorCkpt.Io;

namespace ActorCkpt.Actors.Tests;

/// <summary>One node of a <see cref="TestCluster"/>.</summary>
/// <param name="Roles">Its cluster roles, e.g. "rank, writer".</param>
/// <param name="Store">Wraps its storage (a fault-injecting or blocking store), or null.</param>
/// <param name="Extra">HOCON on top of the cluster's own.</param>
public sealed record TestNode(string Roles, Func<IBlobStore, IBlobStore>? Store = null, string Extra = "");

/// <summary>
/// A cluster of real ActorSystems in this process, on 127.0.0.1 with free ports, each with an
/// ActorCkpt node over one shared checkpoint directory. Fast failure detection; every join is
/// started before any is awaited; nodes shut down one at a time.
/// </summary>
public sealed class TestCluster : IAsyncDisposable
{
    public const string FastFailureDetection = """
        akka.loglevel = WARNING
        akka.stdout-loglevel = WARNING
        akka.log-dead-letters = off
        akka.cluster.failure-detector.heartbeat-interval = 300ms
        akka.cluster.failure-detector.acceptable-heartbeat-pause = 1.5s
        akka.cluster.split-brain-resolver.stable-after = 2s
        akka.cluster.min-nr-of-members = 1
        actorckpt.writer.backoff-min = 5ms
        actorckpt.writer.backoff-max = 20ms
        actorckpt.writer.pool-size = 2
        """;

    private readonly List<ActorSystem> _stopped = new();

    private TestCluster(string root, IReadOnlyList<ActorSystem> systems, IReadOnlyList<CheckpointNode> nodes)
    {
        Root = root;
        Systems = systems;
        Nodes = nodes;
    }

    public string Root { get; }

    public IReadOnlyList<ActorSystem> Systems { get; }

    public IReadOnlyList<CheckpointNode> Nodes { get; }

    public static async Task<TestCluster> StartAsync(string root, string common, params TestNode[] specs)
    {
        var systems = specs.Select(s => ActorSystem.Create("ckpt", ConfigurationFactory
            .ParseString($"akka.cluster.roles = [{s.Roles}]\n{s.Extra}\n{common}\n{FastFailureDetection}")
            .WithFallback(ActorCkptConfig.Cluster)
            .WithFallback(ActorCkptConfig.Defaults))).ToList();
        var nodes = systems.Zip(specs, (sys, s) =>
        {
            IBlobStore blobs = new LocalBlobStore(root);
            return CheckpointNode.Start(sys, s.Store?.Invoke(blobs) ?? blobs);
        }).ToList();
        var seed = Address(systems[0]);
        // JoinSeedNodesAsync completes only when the node is Up: start every join, then await them together.
        await Task.WhenAll(systems.Select(s => Akka.Cluster.Cluster.Get(s).JoinSeedNodesAsync(new[] { seed })))
            .WaitAsync(TimeSpan.FromSeconds(60));
        return new TestCluster(root, systems, nodes);
    }

    public static Address Address(ActorSystem system) => ((ExtendedActorSystem)system).Provider.DefaultAddress;

    /// <summary>Waits until the planner knows <paramref name="count"/> writers.</summary>
    public async Task AwaitWritersAsync(int count, TimeSpan patience)
    {
        var deadline = DateTime.UtcNow + patience;
        while (true)
        {
            var known = await Nodes[0].KnownWritersAsync(patience);
            if (known.Count == count) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the planner knows {known.Count} writers, expected {count}");
            await Task.Delay(50);
        }
    }

    /// <summary>Stops node <paramref name="index"/> without leaving the cluster, as a crash would: the others must detect and down it.</summary>
    public Task CrashAsync(int index)
    {
        _stopped.Add(Systems[index]);
        return Systems[index].Terminate();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var system in Systems.Reverse().Where(s => !_stopped.Contains(s)))
            await system.Terminate().WaitAsync(TimeSpan.FromSeconds(30));
    }
}

using Akka.Cluster;

namespace ActorCkpt.TestKit;

/// <summary>
/// A cluster of K ActorCkpt nodes in this process, for tests: real ActorSystems on 127.0.0.1 with
/// free ports, each running a <see cref="Checkpointer"/> over one shared checkpoint root, with fast
/// failure detection (<see cref="TestHocon"/>). The first node forms the cluster and the others
/// join it, every join started before any is awaited. <see cref="KillAsync"/> kills a node as a
/// crash would; the others see it unreachable and down it. Dispose it (<c>await using</c>) to stop
/// every node.
/// </summary>
/// <example>
/// <code>
/// await using var cluster = await ActorCkptTestCluster.StartAsync(root,
///     TestNodeOptions.WithRoles("rank", "planner"), TestNodeOptions.WithRoles("writer"), TestNodeOptions.WithRoles("writer"));
/// await cluster.AwaitReadyAsync(TimeSpan.FromSeconds(30));
/// await cluster.KillAsync(2);
/// await cluster.Nodes[0].Checkpointer.SaveAsync(1, state);   // commits on the survivors
/// </code>
/// </example>
public sealed class ActorCkptTestCluster : IAsyncDisposable
{
    /// <summary>
    /// The configuration every node gets under its own <see cref="TestNodeOptions.Hocon"/>: warnings
    /// only, heartbeats every 300 ms and a node unreachable after 3 s of silence (less, and a node still
    /// joining on a loaded 2-core CI machine was taken for dead and the cluster never formed), downed by the
    /// split-brain resolver 2 s later; a terminated node does not leave the cluster (as a crash);
    /// a rank's staging buffers offered to a writer node that died before taking them up come back
    /// after 3 s (30 s shipped: a save after a killed writer node would wait that long); writer
    /// retries after 5 to 20 ms; two writers per node. A test host built with Akka.Hosting can
    /// add it (<c>AddHocon</c>) to behave the same.
    /// </summary>
    public const string TestHocon = """
        akka.loglevel = WARNING
        akka.stdout-loglevel = WARNING
        akka.log-dead-letters = off
        akka.cluster.failure-detector.heartbeat-interval = 300ms
        akka.cluster.failure-detector.acceptable-heartbeat-pause = 3s
        akka.cluster.split-brain-resolver.stable-after = 2s
        akka.cluster.min-nr-of-members = 1
        akka.coordinated-shutdown.run-by-actor-system-terminate = off
        akka.cluster.run-coordinated-shutdown-when-down = off
        akka.stream.materializer.stream-ref.subscription-timeout = 3s
        actorckpt.writer.backoff-min = 5ms
        actorckpt.writer.backoff-max = 20ms
        actorckpt.writer.pool-size = 2
        actorckpt.async.finish-on-dispose = 10s
        """;

    /// <summary>The actor system name of every node.</summary>
    public const string SystemName = "actorckpt-test";

    private static readonly TimeSpan JoinTimeout = TimeSpan.FromSeconds(60);
    private readonly List<TestClusterNode> _nodes;
    private bool _disposed;

    private ActorCkptTestCluster(string root, List<TestClusterNode> nodes)
    {
        Root = root;
        _nodes = nodes;
    }

    /// <summary>The checkpoint root every node shares.</summary>
    public string Root { get; }

    /// <summary>Every node started, killed ones included, in order.</summary>
    public IReadOnlyList<TestClusterNode> Nodes => _nodes;

    /// <summary>The nodes not killed.</summary>
    public IEnumerable<TestClusterNode> LiveNodes => _nodes.Where(n => !n.IsKilled);

    /// <summary>Starts <paramref name="count"/> nodes with every role over <paramref name="root"/> and completes once all are up.</summary>
    public static Task<ActorCkptTestCluster> StartAsync(string root, int count, CancellationToken cancellationToken = default)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), $"count = {count}: a cluster has at least one node");
        return StartAsync(root, Enumerable.Range(0, count).Select(_ => new TestNodeOptions()).ToArray(), cancellationToken);
    }

    /// <summary>Starts one node per element of <paramref name="nodes"/> over <paramref name="root"/> and completes once all are up.</summary>
    public static Task<ActorCkptTestCluster> StartAsync(string root, params TestNodeOptions[] nodes) => StartAsync(root, nodes, CancellationToken.None);

    /// <summary>Starts one node per element of <paramref name="nodes"/> over <paramref name="root"/> and completes once all are up; on failure stops those started.</summary>
    public static async Task<ActorCkptTestCluster> StartAsync(string root, IReadOnlyList<TestNodeOptions> nodes, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        ArgumentNullException.ThrowIfNull(nodes);
        if (nodes.Count == 0) throw new ArgumentException("give at least one node", nameof(nodes));
        for (var i = 0; i < nodes.Count; i++) Check(nodes[i], $"{nameof(nodes)}[{i}]");
        var cluster = new ActorCkptTestCluster(root, new List<TestClusterNode>());
        try
        {
            // Every node starts listening (on a free port), then every join starts; the first node
            // lists only itself, so it forms the cluster, and the others join through it.
            var started = new List<(TestClusterNode Node, CheckpointClusterOptions Cluster)>();
            foreach (var options in nodes)
            {
                var (node, clusterOptions) = await StartNodeAsync(root, cluster._nodes.Count, options, cancellationToken);
                cluster._nodes.Add(node);
                started.Add((node, clusterOptions));
            }
            var seed = cluster._nodes[0].Address.ToString();
            foreach (var (_, clusterOptions) in started.Skip(1)) clusterOptions.SeedNodes.Add(seed);
            // JoinSeedNodesAsync completes only once the node is up: start every join, then await them together.
            await Task.WhenAll(started.Select(s => CheckpointerConfig.JoinAsync(s.Node.System, s.Cluster, cancellationToken)));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts one more node and joins it through the live nodes; completes once it is up.</summary>
    public async Task<TestClusterNode> JoinAsync(TestNodeOptions node, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        Check(node, nameof(node));
        var seeds = LiveNodes.Select(n => n.Address.ToString()).ToArray();
        // With no live node, the new one would form a cluster of its own: not what joining means.
        if (seeds.Length == 0) throw new InvalidOperationException("every node of the cluster is killed: there is no live node to join through");
        var (started, clusterOptions) = await StartNodeAsync(Root, _nodes.Count, node, cancellationToken);
        _nodes.Add(started);
        foreach (var seed in seeds) clusterOptions.SeedNodes.Add(seed);
        await CheckpointerConfig.JoinAsync(started.System, clusterOptions, cancellationToken);
        return started;
    }

    /// <summary>
    /// Waits until the planner is up and knows the writers of every live node with the writer role
    /// (a save started before may find fewer writers); throws <see cref="TimeoutException"/> at the deadline.
    /// </summary>
    public async Task AwaitReadyAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        var deadline = Deadline(timeout);
        if (!LiveNodes.Any(n => n.Options.Roles.Contains(ClusterRoles.Planner)))
            throw new InvalidOperationException($"no live node has the {ClusterRoles.Planner} role: the planner singleton can run nowhere, so the cluster is never ready");
        var expected = LiveNodes.Count(n => n.Options.Roles.Contains(ClusterRoles.Writer));
        var known = "no answer from the planner";
        do
        {
            var asking = LiveNodes.First();
            try
            {
                var writers = await asking.Checkpointer.Node.KnownWritersAsync(Min(deadline - DateTime.UtcNow, TimeSpan.FromSeconds(5)));
                var nodes = writers.Select(w => w.Path.Address).Distinct().Count();
                if (nodes == expected) return;
                known = $"the planner knows writers on {nodes} nodes";
            }
            catch (Exception e) when (e is TimeoutException or Akka.Actor.AskTimeoutException)
            {
                // The planner singleton is not up yet, or gave up starting.
            }
            // A planner that gave up starting (its root held by another process, its journal failing) never will be: said at once.
            if (await GaveUpAsync(asking, Min(deadline - DateTime.UtcNow, TimeSpan.FromSeconds(5))) is { } why)
                throw new InvalidOperationException($"the cluster is never ready: {why}");
            await Task.Delay(50, cancellationToken);
        }
        while (DateTime.UtcNow < deadline);
        throw new TimeoutException($"after {timeout} {known}, expected writers on {expected}");
    }

    /// <summary>
    /// Kills node <paramref name="index"/> as a crash would: its storage refuses every write from now
    /// on (a write it holds, released, fails), and its ActorSystem stops without leaving the cluster.
    /// The first live node then downs it, as an operator or the split-brain resolver would (see
    /// <see cref="AwaitRemovedAsync"/>): left to the resolver, a cluster of two would split one
    /// against one, and keep-majority keeps the side with the lowest address, which is the dead
    /// node about half the time, downing the survivor. Completes when its ActorSystem has stopped.
    /// </summary>
    public async Task KillAsync(int index)
    {
        var node = NodeAt(index);
        if (node.IsKilled) throw new InvalidOperationException($"{node} is already killed");
        await node.KillAsync();
        if (LiveNodes.FirstOrDefault() is { } live) Cluster.Get(live.System).Down(node.Address);
    }

    /// <summary>
    /// Waits until every live node sees node <paramref name="index"/> (killed) removed from the cluster;
    /// throws <see cref="TimeoutException"/> at the deadline. A node not killed is refused at once: as a
    /// live node it sees itself a member, so the wait would last its whole timeout, or for ever.
    /// </summary>
    public async Task AwaitRemovedAsync(int index, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var node = NodeAt(index);
        var deadline = Deadline(timeout);
        if (!node.IsKilled) throw new InvalidOperationException($"{node} is not killed: a live node is never removed; kill it first (KillAsync)");
        var address = node.Address;
        while (LiveNodes.Any(n => Cluster.Get(n.System).State.Members.Any(m => m.Address.Equals(address))))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"after {timeout} {_nodes[index]} is still a member for some live node");
            await Task.Delay(50, cancellationToken);
        }
    }

    /// <summary>
    /// Stops every live node, the newest first (a write one holds fails as it stops, and nothing more
    /// lands from it); a node that does not stop within 30 s does not keep the others running (the
    /// first such failure is thrown at the end).
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        var failures = new List<Exception>();
        foreach (var node in Enumerable.Reverse(_nodes).Where(n => !n.IsKilled))
        {
            try
            {
                await node.Checkpointer.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            }
            catch (Exception e)
            {
                failures.Add(e);
            }
        }
        if (failures.Count > 0) throw new AggregateException("not every test node stopped", failures);
    }

    /// <summary>Throws <see cref="ObjectDisposedException"/> in one line once the cluster is disposed.</summary>
    private void ThrowIfDisposed()
    {
        // No object name: .NET would add it on a second line.
        if (_disposed) throw new ObjectDisposedException(null, "the test cluster is disposed (its nodes are stopped): start another with ActorCkptTestCluster.StartAsync");
    }

    /// <summary>Node <paramref name="index"/>, once the cluster is checked to be running and to have it.</summary>
    private TestClusterNode NodeAt(int index)
    {
        ThrowIfDisposed();
        return index >= 0 && index < _nodes.Count ? _nodes[index]
            : throw new ArgumentOutOfRangeException(nameof(index), $"node {index} is not one of the cluster's {_nodes.Count} nodes (0 to {_nodes.Count - 1})");
    }

    /// <summary>Why the planner <paramref name="asking"/> reaches gave up starting; null while it starts, once it has, or when it does not answer in time.</summary>
    private static async Task<string?> GaveUpAsync(TestClusterNode asking, TimeSpan timeout)
    {
        try
        {
            return await asking.Checkpointer.Node.PlannerGaveUpAsync(timeout);
        }
        catch (Exception e) when (e is TimeoutException or Akka.Actor.AskTimeoutException)
        {
            return null;
        }
    }

    /// <summary>When a wait of <paramref name="timeout"/> (positive, or <see cref="Timeout.InfiniteTimeSpan"/> for none) started now ends.</summary>
    private static DateTime Deadline(TimeSpan timeout)
    {
        if (timeout == Timeout.InfiniteTimeSpan) return DateTime.MaxValue;
        if (timeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(timeout), $"timeout = {timeout}: give a positive time, or Timeout.InfiniteTimeSpan to wait without end");
        var now = DateTime.UtcNow;
        return timeout < DateTime.MaxValue - now ? now + timeout : DateTime.MaxValue;
    }

    /// <summary>
    /// Refuses a node's options that are null, name a role that is not one, or whose HOCON does not
    /// parse, naming <paramref name="name"/> (and the line in the node's own HOCON, before the test configuration goes under it).
    /// </summary>
    private static void Check(TestNodeOptions? node, string name)
    {
        if (node is null) throw new ArgumentNullException(name, $"{name} is null: give a TestNodeOptions");
        try
        {
            CheckpointerConfig.CheckRoles(node.Roles, $"{name}.Roles");
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException(e.Message, name);
        }
        UserHocon.Parse(node.Hocon, $"{name}.Hocon");
    }

    /// <summary>
    /// Starts a node's ActorSystem and checkpointer, listening but not joined, with what to join with;
    /// on the thread pool, so that the caller's thread is not held while the node starts.
    /// </summary>
    private static Task<(TestClusterNode Node, CheckpointClusterOptions Cluster)> StartNodeAsync(string root, int index, TestNodeOptions node, CancellationToken cancellation) =>
        Task.Run(() =>
        {
            KillableBlobStore? storage = null;
            var cluster = new CheckpointClusterOptions { SystemName = SystemName, Host = "127.0.0.1", Port = 0, JoinTimeout = JoinTimeout };
            var options = new CheckpointerOptions { Root = root, Hocon = TestHocon + "\n" + (node.Hocon ?? ""), Cluster = cluster };
            foreach (var (key, value) in node.Settings) options.Settings[key] = value;
            cluster.Roles.Clear();
            foreach (var role in node.Roles) cluster.Roles.Add(role);
            options.WrapStore = local =>
            {
                storage = new KillableBlobStore(local);
                return node.Faults?.Wrap(storage) ?? storage;
            };
            var checkpointer = Checkpointer.StartUnjoined(options);
            return (new TestClusterNode(index, checkpointer, node, storage!), cluster);
        }, cancellation);

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? (a > TimeSpan.Zero ? a : TimeSpan.FromMilliseconds(1)) : b;
}

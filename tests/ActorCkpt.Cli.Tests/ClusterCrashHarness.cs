using System.Security.Cryptography;
using Akka.Actor;
using Akka.Cluster;
using ActorCkpt.Cli.Demo;

namespace ActorCkpt.Cli.Tests;

/// <summary>What a crash harness's cluster is made of.</summary>
/// <param name="WriterNodes">Writer-only node processes.</param>
/// <param name="RankNodes">Rank-only node processes, one rank each (the save's world size).</param>
/// <param name="Placement">actorckpt.planner.placement: spread (files over every writer) or local.</param>
/// <param name="Isolated">Each node in a network namespace of its own (cuts and rate limits possible); else all on 127.0.0.1.</param>
/// <param name="Hocon">Settings for every node on top of the harness's own (deadlines, retention).</param>
internal sealed record ClusterShape(int WriterNodes, int RankNodes, string Placement, bool Isolated, string Hocon = "");

/// <summary>A save as the driver saw it: for each rank node, null (committed), its failure, or <see cref="ClusterCrashHarness.NodeDied"/>.</summary>
/// <param name="Step">The step.</param>
/// <param name="Errors">One per rank node, in rank order.</param>
internal sealed record SaveRun(long Step, string?[] Errors)
{
    /// <summary>Every rank saw the commit.</summary>
    public bool Committed => Errors.All(e => e is null);
}

/// <summary>A committed step as the disk holds it: its metadata's checksum and a digest of every file in its directory.</summary>
internal sealed record StepOnDiskDigest(long Step, string MetadataChecksum, string FilesDigest);

/// <summary>
/// A crash harness over a cluster of real node processes on one checkpoint root: a planner-only
/// node, writer-only nodes and rank-only nodes (<c>actorckpt node</c> each, with a config file of
/// its own so a kill point applies to that node only), and this process as the driver (the seed; it
/// holds no rank, writer or planner) that asks the rank nodes' demo agents to save and load. It
/// kills and restarts nodes, cuts and slows their links (<see cref="NetworkNamespaces"/>), and
/// checks what no fault may break: the catalog agrees with the disk, no committed step is lost or
/// changed, the next save commits, a load is bit-exact.
/// </summary>
internal sealed class ClusterCrashHarness : IAsyncDisposable
{
    /// <summary>The error recorded for a rank node that died during a save.</summary>
    public const string NodeDied = "node died";

    /// <summary>The hang guard of one save or load (the issue's deadline for a command).</summary>
    public static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    /// <summary>How long a cluster (or a restarted node) may take to form and find every writer, on two busy cores.</summary>
    public static readonly TimeSpan FormPatience = TimeSpan.FromSeconds(90);

    private const int PoolSize = 2;
    private static readonly DemoModel Model = new(SizeMb: 3, Tensors: 8, Layout: "mixed", Seed: 11);
    private const int LoadRanks = 3;
    private readonly TempDirectory _temp = new();
    private readonly ClusterShape _shape;
    private readonly List<NodeProcess> _nodes = new();
    private readonly List<string> _notes = new();
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    private ActorSystem? _driver;
    private ActorSystem? _catalogSystem;
    private CheckpointNode? _node;
    private string _seed = "";

    private ClusterCrashHarness(ClusterShape shape, NetworkNamespaces? net)
    {
        _shape = shape;
        Net = net;
        Directory.CreateDirectory(Root);
    }

    /// <summary>The checkpoint root every node shares.</summary>
    public string Root => Path.Combine(_temp.Path, "ckpt");

    /// <summary>The network of the nodes, when isolated.</summary>
    public NetworkNamespaces? Net { get; }

    /// <summary>The planner-only node.</summary>
    public NodeProcess Planner => _nodes[0];

    /// <summary>The writer-only nodes.</summary>
    public IReadOnlyList<NodeProcess> Writers => _nodes.Skip(1).Take(_shape.WriterNodes).ToArray();

    /// <summary>The rank-only nodes; node i hosts rank i.</summary>
    public IReadOnlyList<NodeProcess> Ranks => _nodes.Skip(1 + _shape.WriterNodes).ToArray();

    /// <summary>The index of <paramref name="node"/> (its namespace's number when isolated).</summary>
    public int IndexOf(NodeProcess node) => _nodes.IndexOf(node);

    /// <summary>
    /// Starts the driver and every node of <paramref name="shape"/>; <paramref name="killAt"/> gives
    /// nodes (by name) a kill point from their first start. Returns once every writer is known to the planner.
    /// </summary>
    public static async Task<ClusterCrashHarness> StartAsync(ClusterShape shape, IReadOnlyDictionary<string, (string Point, long Step)>? killAt = null)
    {
        var nodes = 1 + shape.WriterNodes + shape.RankNodes;
        var net = shape.Isolated ? NetworkNamespaces.Create(nodes) : null;
        var harness = new ClusterCrashHarness(shape, net);
        try
        {
            await harness.FormAsync(killAt ?? new Dictionary<string, (string, long)>());
            return harness;
        }
        catch
        {
            await harness.DisposeAsync();
            throw;
        }
    }

    private async Task FormAsync(IReadOnlyDictionary<string, (string Point, long Step)> killAt)
    {
        var host = Net?.HostAddress ?? "127.0.0.1";
        var config = ActorCkptConfig.WithCatalog(
            ClusterNodeConfig.Build(CommonHocon + DriverHocon + $"\nakka.remote.dot-netty.tcp.hostname = \"{host}\"\n", port: 0, roles: new[] { "driver" }, root: null), Root);
        _driver = ActorSystem.Create(ClusterNodeConfig.SystemName, config);
        _node = CheckpointNode.Start(_driver, new LocalBlobStore(Root));
        var cluster = Cluster.Get(_driver);
        await cluster.JoinSeedNodesAsync(new[] { cluster.SelfAddress }).WaitAsync(FormPatience);
        _seed = $"{host}:{cluster.SelfAddress.Port}";

        var names = new[] { ("planner", "planner") }
            .Concat(Enumerable.Range(1, _shape.WriterNodes).Select(i => ($"writer-{i}", "writer")))
            .Concat(Enumerable.Range(0, _shape.RankNodes).Select(i => ($"rank-{i}", "rank")));
        foreach (var (name, roles) in names)
        {
            var i = _nodes.Count;
            _nodes.Add(new NodeProcess(name, roles, Path.Combine(_temp.Path, name + ".conf"), Net?.Address(i) ?? "127.0.0.1", Net?.Namespace(i)));
        }
        Note("driver up");
        await Task.WhenAll(_nodes.Select(n => n.StartAsync(NodeHocon(killAt.TryGetValue(n.Name, out var k) ? k : null), _seed, FormPatience)));
        Note("nodes up");
        await WaitWholeAsync();
        Note("cluster whole");
    }

    /// <summary>The settings of every node and of the driver.</summary>
    private string CommonHocon => $$"""
        actorckpt.root = "{{Root}}"
        actorckpt.planner.placement = {{_shape.Placement}}
        actorckpt.writer.pool-size = {{PoolSize}}
        actorckpt.retention.grace-after-start = 0s
        akka.loglevel = WARNING
        # A dead node is found within seconds: unreachable after 3 s of silence, downed 3 s later.
        akka.cluster.failure-detector { heartbeat-interval = 1s, acceptable-heartbeat-pause = 3s }
        akka.cluster.split-brain-resolver { stable-after = 3s, down-all-when-unstable = off }
        {{_shape.Hocon}}
        """;

    /// <summary>The driver sees every fault the harness makes: its log would only repeat them into the test output.</summary>
    private const string DriverHocon = "\nakka { loglevel = ERROR, stdout-loglevel = ERROR, remote.log-remote-lifecycle-events = off }\n";

    private string NodeHocon((string Point, long Step)? killAt) =>
        CommonHocon + (killAt is { } k ? $"\nactorckpt.fault-injection.kill-at {{ point = {k.Point}, step = {k.Step} }}\n" : "\n");

    /// <summary>
    /// Starts <paramref name="node"/> again (after it died; a running one leaves the cluster first),
    /// with <paramref name="killAt"/> if given, and waits until the cluster is whole.
    /// </summary>
    public async Task RestartAsync(NodeProcess node, (string Point, long Step)? killAt = null)
    {
        await node.StopAsync();
        Note($"restarting {node.Name}" + (killAt is { } k ? $" to die at '{k.Point}' of step {k.Step}" : ""));
        await node.StartAsync(NodeHocon(killAt), _seed, FormPatience);
        Note($"{node.Name} up");
        await WaitWholeAsync();
        Note("cluster whole");
    }

    /// <summary>
    /// Waits until the cluster holds exactly the driver and the running incarnation of every node,
    /// all up and reachable (dead incarnations removed), and the planner knows every writer.
    /// </summary>
    public async Task WaitWholeAsync()
    {
        var cluster = Cluster.Get(_driver!);
        var expected = _nodes.Select(n => n.Address!).Append(cluster.SelfAddress).ToHashSet();
        await Until(() =>
        {
            if (_nodes.FirstOrDefault(n => !n.Running) is { } dead)
                throw new InvalidOperationException($"{dead.Name} exited while the cluster formed:\n{dead.Output}");
            var state = cluster.State;
            return Task.FromResult(state.Unreachable.Count == 0 && state.Members.Count == expected.Count
                && state.Members.All(m => m.Status == MemberStatus.Up && expected.Contains(m.Address)));
        }, () => $"the cluster is not whole: members [{string.Join(", ", cluster.State.Members.Select(m => $"{m.Address.Port}:{m.Status}"))}], unreachable {cluster.State.Unreachable.Count}");
        var writers = _shape.WriterNodes * PoolSize;
        await Until(async () =>
        {
            try
            {
                return (await _node!.KnownWritersAsync(TimeSpan.FromSeconds(5))).Count == writers;
            }
            catch (Exception e) when (e is TimeoutException or AskTimeoutException or TaskCanceledException)
            {
                return false;
            }
        }, () => $"the planner does not know {writers} writers");
    }

    /// <summary>
    /// Saves <paramref name="step"/> from every rank node and waits for each one's verdict (a node
    /// that dies meanwhile counts as <see cref="NodeDied"/>). A verdict later than <see cref="Guard"/> fails the test.
    /// </summary>
    public async Task<SaveRun> SaveAsync(long step)
    {
        var world = Ranks.Count;
        Note($"saving step {step}");
        var replies = await Task.WhenAll(Ranks.Select((node, i) => AskAsync<DemoSaveDone>(node, new RunDemoSave(step, new[] { i }, world, Model))));
        var run = new SaveRun(step, replies.Select(r => r is null ? NodeDied : r.Error).ToArray());
        Note($"step {step}: " + (run.Committed ? "committed" : string.Join("; ", run.Errors.Select(e => e ?? "committed"))));
        return run;
    }

    /// <summary>Loads <paramref name="step"/> on <see cref="LoadRanks"/> ranks spread over the rank nodes (a resharded load) and asserts it bit-exact.</summary>
    public async Task AssertLoadsBitExactAsync(long step, string what)
    {
        var split = Enumerable.Range(0, Ranks.Count).Select(n => Enumerable.Range(0, LoadRanks).Where(r => r * Ranks.Count / LoadRanks == n).ToArray()).ToArray();
        var replies = await Task.WhenAll(Ranks.Select((node, i) => AskAsync<DemoLoadDone>(node, new RunDemoLoad(step, split[i], LoadRanks, Model))));
        var problems = replies.SelectMany(r => r?.Problems ?? new[] { NodeDied }).ToArray();
        Note($"loaded step {step}: " + (problems.Length == 0 ? "bit-exact" : $"{problems.Length} problems"));
        Assert.True(problems.Length == 0, $"{what}: the load of step {step} is not bit-exact:\n{string.Join("\n", problems.Take(10))}");
    }

    private async Task<T?> AskAsync<T>(NodeProcess node, object message) where T : class
    {
        var agent = _driver!.ActorSelection(new RootActorPath(node.Address!) / "user" / DemoAgentActor.Name);
        var ask = agent.Ask<T>(message, Guard);
        var first = await Task.WhenAny(ask, node.Exited);
        if (first == ask) return await ask;
        return null;
    }

    /// <summary>The steps whose metadata is in place: the disk's own word on what is committed.</summary>
    public IReadOnlyList<long> CommittedOnDisk() => new CheckpointStore(new LocalBlobStore(Root)).CommittedSteps();

    /// <summary>Each committed step's metadata checksum and a digest of every file (name and bytes) of its directory.</summary>
    public IReadOnlyDictionary<long, StepOnDiskDigest> Digest()
    {
        var store = new CheckpointStore(new LocalBlobStore(Root));
        return store.CommittedSteps().ToDictionary(s => s, s =>
        {
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var dir = Path.Combine(Root, CheckpointLayout.StepDirectory(s));
            foreach (var file in Directory.GetFiles(dir).Order(StringComparer.Ordinal))
            {
                sha.AppendData(System.Text.Encoding.UTF8.GetBytes(Path.GetFileName(file) + "\0"));
                sha.AppendData(File.ReadAllBytes(file));
            }
            return new StepOnDiskDigest(s, CheckpointStore.Checksum(store.ReadMetadataBytes(s)), Convert.ToHexString(sha.GetHashAndReset()));
        });
    }

    /// <summary>The catalog as the planner journaled it, read from its store the way <c>actorckpt ls</c> reads it.</summary>
    public async Task<IReadOnlyList<CatalogEntry>> ReadCatalogAsync()
    {
        // One local system for every read (its journal plugin starts once); a new reader each time replays the catalog anew.
        _catalogSystem ??= ActorSystem.Create("ckx-catalog", ActorCkptConfig.WithCatalog(NodeConfig.Build(), Root));
        var reader = _catalogSystem.ActorOf(CatalogReaderActor.Props(CheckpointNode.CatalogId(new CheckpointStore(new LocalBlobStore(Root)))));
        try
        {
            return (await reader.Ask<CatalogRead>(new ReadCatalog(), Guard)).Entries;
        }
        finally
        {
            _catalogSystem.Stop(reader);
        }
    }

    /// <summary>
    /// The checks after a fault, once the cluster is whole again: exactly <paramref name="committed"/>
    /// is committed, on disk and in the catalog; every committed step's metadata checksum in the catalog
    /// is the disk's, with its files all there; what <paramref name="before"/> held is unchanged byte
    /// for byte; no save is in flight; a step directory without metadata is only one the catalog calls
    /// aborted or deleted. Returns those leftovers (step, status) and the digest of now.
    /// </summary>
    public async Task<(IReadOnlyList<(long Step, CheckpointStatus Status)> Leftovers, IReadOnlyDictionary<long, StepOnDiskDigest> Digest)> AssertAgreesAsync(
        IReadOnlyList<long> committed, IReadOnlyDictionary<long, StepOnDiskDigest> before, string what)
    {
        var store = new CheckpointStore(new LocalBlobStore(Root));
        Assert.True(committed.SequenceEqual(store.CommittedSteps()), $"{what}: committed on disk [{string.Join(", ", store.CommittedSteps())}], expected [{string.Join(", ", committed)}]");
        var catalog = (await ReadCatalogAsync()).ToDictionary(e => e.Step);
        var inCatalog = catalog.Values.Where(e => e.Status == CheckpointStatus.Committed).Select(e => e.Step).Order().ToArray();
        Assert.True(committed.SequenceEqual(inCatalog), $"{what}: committed in the catalog [{string.Join(", ", inCatalog)}], on disk [{string.Join(", ", committed)}]");
        Assert.DoesNotContain(catalog.Values, e => e.Status == CheckpointStatus.InFlight);

        var now = Digest();
        foreach (var step in committed)
        {
            var entry = catalog[step];
            var metadata = store.ReadMetadata(step);
            Assert.Equal(now[step].MetadataChecksum, entry.MetadataChecksum);
            Assert.Equal(metadata.Files.Count, entry.Files);
            Assert.Equal(metadata.TotalFileBytes, entry.Bytes);
            foreach (var f in metadata.Files)
                Assert.Equal(f.Length, new FileInfo(Path.Combine(Root, CheckpointLayout.StepDirectory(step), f.Name)).Length);
            if (before.TryGetValue(step, out var was))
                Assert.True(was == now[step], $"{what}: committed step {step} changed: {was} became {now[step]}");
        }
        var lost = before.Keys.Where(s => !committed.Contains(s)).ToArray();
        Assert.True(lost.Length == 0, $"{what}: committed steps [{string.Join(", ", lost)}] were lost");

        var leftovers = store.ScanSteps(_ => false).Steps.Where(d => d.Commit is null)
            .Select(d => (d.Step, Status: catalog.TryGetValue(d.Step, out var e) ? e.Status : CheckpointStatus.InFlight)).ToArray();
        Assert.True(leftovers.All(l => l.Status is CheckpointStatus.Aborted or CheckpointStatus.Deleted),
            $"{what}: step directories without metadata that the catalog does not call aborted or deleted: [{string.Join(", ", leftovers)}]");
        Note($"catalog and disk agree: committed [{string.Join(", ", committed)}], leftovers [{string.Join(", ", leftovers)}]");
        return (leftovers, now);
    }

    /// <summary>
    /// Everything checked after a fault, once the fault is over (the dead node restarted, the link
    /// healed): the cluster is whole; the newest of <paramref name="committed"/> loads bit-exact (the
    /// lease goes through the planner, so its recovery is over); <see cref="AssertAgreesAsync"/> with
    /// exactly <paramref name="committed"/> and, unless null, exactly <paramref name="leftovers"/>; the
    /// save of <paramref name="next"/> commits, the same checks hold with it (after retention's
    /// <paramref name="keepLast"/>, 0: all kept), and it loads bit-exact. Returns the digest of now.
    /// </summary>
    public async Task<IReadOnlyDictionary<long, StepOnDiskDigest>> AssertRecoveredAsync(IReadOnlyList<long> committed,
        IReadOnlyDictionary<long, StepOnDiskDigest> before, long next, IReadOnlyList<(long Step, CheckpointStatus Status)>? leftovers, string what, int keepLast = 0)
    {
        await WaitWholeAsync();
        if (committed.Count > 0) await AssertLoadsBitExactAsync(committed[^1], what);
        var (left, digest) = await AssertAgreesAsync(committed, before, what);
        if (leftovers is not null) Assert.Equal(leftovers, left);

        var run = await SaveAsync(next);
        Assert.True(run.Committed, $"{what}: the next save, of step {next}, did not commit: {string.Join("; ", run.Errors)}\n{Outputs}");
        var now = committed.Append(next).ToArray();
        if (keepLast > 0) now = now.TakeLast(keepLast).ToArray();
        (left, digest) = await AssertAgreesAsync(now, digest.Where(d => now.Contains(d.Key)).ToDictionary(), $"{what}, then the save of step {next}");
        if (leftovers is not null && keepLast == 0) Assert.Equal(leftovers, left);
        await AssertLoadsBitExactAsync(next, what);
        return digest;
    }

    /// <summary>The reason the catalog gives for the abort of <paramref name="step"/>.</summary>
    public async Task<string?> AbortReasonAsync(long step) =>
        (await ReadCatalogAsync()).SingleOrDefault(e => e.Step == step && e.Status == CheckpointStatus.Aborted)?.Reason;

    /// <summary>
    /// Notes a moment of the run (with the seconds since the harness started) in <see cref="Outputs"/>,
    /// and on the file named by ACTORCKPT_CRASH_TRACE when set (the long schedule's trace).
    /// </summary>
    public void Note(string text)
    {
        var line = $"{_clock.Elapsed.TotalSeconds,7:0.0}s {text}";
        _notes.Add(line);
        if (Environment.GetEnvironmentVariable("ACTORCKPT_CRASH_TRACE") is { Length: > 0 } trace) File.AppendAllText(trace, line + "\n");
    }

    /// <summary>All the node processes: the planner, the writers, the ranks.</summary>
    public IReadOnlyList<NodeProcess> Nodes => _nodes;

    /// <summary>
    /// After a cut of <paramref name="node"/> healed: waits until it is back (up and reachable) or
    /// gone (the split-brain resolver downed it and its process ended), and starts again what is gone.
    /// Returns true when it had to be started again.
    /// </summary>
    public async Task<bool> SettleAsync(NodeProcess node)
    {
        var cluster = Cluster.Get(_driver!);
        await Until(() => Task.FromResult(!node.Running || (cluster.State.Unreachable.Count == 0
            && cluster.State.Members.Any(m => m.Address.Equals(node.Address) && m.Status == MemberStatus.Up))), () => $"{node.Name} neither came back nor left");
        if (node.Running) return false;
        await RestartAsync(node);
        return true;
    }

    /// <summary>Output of every node, for failure messages.</summary>
    public string Outputs => string.Join("\n", _notes.Prepend("--- harness").Concat(_nodes.Select(n => $"--- {n.Name}\n{n.Output}")));

    private static async Task Until(Func<Task<bool>> done, Func<string> failure)
    {
        var deadline = DateTime.UtcNow + FormPatience;
        while (!await done())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException(failure());
            await Task.Delay(100);
        }
    }

    /// <summary>Kills every node process, stops the driver, removes the namespaces and the root.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var n in _nodes) await n.KillAsync();
        if (_driver is not null) await _driver.Terminate().WaitAsync(TimeSpan.FromSeconds(30));
        if (_catalogSystem is not null) await _catalogSystem.Terminate().WaitAsync(TimeSpan.FromSeconds(30));
        Net?.Dispose();
        _temp.Dispose();
    }
}

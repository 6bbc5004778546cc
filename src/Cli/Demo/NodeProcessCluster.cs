using System.Runtime.InteropServices;
using System.Text.Json;
using Akka.Actor;
using Akka.Cluster;

namespace ActorCkpt.Cli.Demo;

/// <summary>
/// K <c>actorckpt node</c> processes on 127.0.0.1 with this process joined as a driver (the seed)
/// that hosts no ranks and no writers. The disk demo's shape: K-1 training nodes with ranks,
/// writers and the planner role, and one writer-only node. The memory demo's shape
/// (<see cref="MemoryDemo"/>): every node a training node and a host of its own, <c>node-I</c>,
/// with the memory tier on. The driver asks each training node's <see cref="DemoAgentActor"/> to
/// save or load its ranks, and can kill and restart nodes. Disposing asks every node to leave and
/// waits for its process.
/// </summary>
internal sealed class NodeProcessCluster : IAsyncDisposable
{
    /// <summary>How long to wait for the cluster to form and for each request.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);

    private readonly ActorSystem _system;
    private readonly List<DemoNodeProcess> _processes = new();
    private readonly string _configFile;
    private readonly MemoryDemo? _memory;
    private string _seed = "";
    private int _poolSize;

    private readonly PosixSignalRegistration[] _interrupts;

    private readonly string _command;
    private readonly string? _scratch;

    private NodeProcessCluster(ActorSystem system, CheckpointNode node, string configFile, MemoryDemo? memory, string command, string? scratch)
    {
        _system = system;
        Node = node;
        _configFile = configFile;
        _memory = memory;
        _command = command;
        _scratch = scratch;
        _interrupts = [PosixSignalRegistration.Create(PosixSignal.SIGINT, Interrupted), PosixSignalRegistration.Create(PosixSignal.SIGTERM, Interrupted)];
    }

    /// <summary>
    /// Ctrl-C (SIGINT) or SIGTERM: the node processes are killed and reaped, the configuration file
    /// removed and the caller's scratch directory too (a bench's replicas on tmpfs: memory nothing else
    /// would free), in one line, then the process ends as the signal would end it (130, 143). Otherwise the
    /// signal stopped only the driver's actor system, and the nodes ran on, or the driver waited out its asks.
    /// </summary>
    private void Interrupted(PosixSignalContext context)
    {
        context.Cancel = true;
        // First: the driver's waits then see nodes end that this handler killed, not nodes that failed.
        Volatile.Write(ref s_interrupted, true);
        DemoNodeProcess[] nodes;
        lock (_processes) nodes = _processes.ToArray();
        foreach (var node in nodes) node.KillNow();
        try
        {
            File.Delete(_configFile);
        }
        catch (IOException)
        {
        }
        var removed = "";
        try
        {
            if (_scratch is not null && Directory.Exists(_scratch))
            {
                Directory.Delete(_scratch, recursive: true);
                removed = $", and its replicas under {_scratch} removed";
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            removed = $"; its replicas under {_scratch} could not all be removed ({e.Message})";
        }
        Console.Error.WriteLine($"actorckpt: {_command} interrupted: its {nodes.Length} node processes were killed{removed}");
        Environment.Exit(context.Signal == PosixSignal.SIGINT ? 130 : 143);
    }

    private static bool s_interrupted;

    /// <summary>True once a signal's handler began killing the node processes: the process is ending with that signal.</summary>
    public static bool Interrupting => Volatile.Read(ref s_interrupted);

    /// <summary>
    /// The failure of node process <paramref name="dead"/>, which ended <paramref name="when"/>; a node the
    /// signal's handler killed is not one: this waits for the handler to end the process (before, a demo
    /// interrupted during a save said first "node 0 exited with code 137 …", then the handler's line),
    /// for up to a minute: a handler that failed to end it leaves this line to say what happened.
    /// </summary>
    internal static ActorCkptException NodeEnded(DemoNodeProcess dead, string when)
    {
        if (Interrupting) Thread.Sleep(TimeSpan.FromMinutes(1));
        return new ActorCkptException($"node {dead.Index} {dead.Ending(when)}");
    }

    /// <summary>The driver's node (planner proxy and the shared store).</summary>
    public CheckpointNode Node { get; private set; }

    /// <summary>The catalog as the planner holds it.</summary>
    public async Task<IReadOnlyList<CatalogEntry>> CatalogAsync() =>
        (await Node.Planner.Ask<CatalogRead>(new ReadCatalog(), Patience)).Entries;

    /// <summary>The agents of the training nodes, in a fixed order (the memory demo's: node index).</summary>
    public IReadOnlyList<ActorSelection> Agents { get; private set; } = Array.Empty<ActorSelection>();

    /// <summary>The agent of the writer-only node (the disk demo's shape only).</summary>
    public ActorSelection WriterAgent { get; private set; } = null!;

    /// <summary>The node processes, by index.</summary>
    public IReadOnlyList<DemoNodeProcess> Processes => _processes;

    /// <summary>
    /// Starts <paramref name="nodes"/> node processes over <paramref name="root"/> and waits until
    /// every writer is known; with <paramref name="memory"/>, the memory demo's shape and settings.
    /// An interruption names <paramref name="command"/> and removes <paramref name="scratch"/> (see <see cref="Interrupted"/>).
    /// </summary>
    public static async Task<NodeProcessCluster> StartAsync(string root, int nodes, string placement, string? hocon, MemoryDemo? memory = null,
        string command = "demo", string? scratch = null)
    {
        if (nodes < 2) throw new ArgumentException("--nodes must be at least 2 (training nodes and one writer-only node)");
        if (BlobStores.IsDirectory(root))
        {
            root = Path.GetFullPath(root);
            Directory.CreateDirectory(root);
            // The nodes' planner would fail the lock in their processes, where the driver does not see it,
            // and the driver wait two minutes for writers: a root another process holds is named now.
            CatalogLock.EnsureFree(new LocalBlobStore(root, checkpointRoot: true));
        }
        // The flags after --config: they win, as node's flags do over its file. The root quoted as JSON (HOCON reads it so): a quote or a
        // line break in --dir would otherwise end the string and send the checkpoints to another directory, or set another key.
        var configFile = await NodeConfigFile.CreateAsync(Path.GetTempPath(),
            $"{CliLogger.Without(hocon) ?? ""}\nactorckpt.root = {JsonSerializer.Serialize(root)}\nactorckpt.planner.placement = {placement}\n{memory?.Hocon}\n");
        // The driver sees every node leave or die (the memory demo kills some): its log (Disassociated, with a
        // trace, even on a clean stop) would only repeat that into the demo's output, which says it in a line.
        // Nor does process exit run the driver's shutdown: StopAsync does, and an interrupt exits at once (its nodes killed).
        const string quiet = "\nakka { loglevel = OFF, stdout-loglevel = OFF, remote.log-remote-lifecycle-events = off }"
                             + "\nakka.coordinated-shutdown.run-by-clr-shutdown-hook = off\n";
        Akka.Configuration.Config config;
        ActorSystem? system = null;
        NodeProcessCluster cluster;
        try
        {
            config = ActorCkptConfig.WithCatalog(
                ClusterNodeConfig.Build(UserHocon.ReadFile(configFile, "--config") + quiet, port: 0, roles: new[] { "driver" }, root: null), root);
            system = ActorSystem.Create(ClusterNodeConfig.SystemName, config);
            var settings = ActorCkptSettings.Create(system);
            cluster = new NodeProcessCluster(system, CheckpointNode.Start(system, BlobStores.Open(root, settings.ObjectStore), settings), configFile, memory, command, scratch);
        }
        catch
        {
            // Settings the driver's node refuses (a bad --config value) end here, before any node process: nothing of the run is left.
            File.Delete(configFile);
            if (system is not null) await system.Terminate();
            throw;
        }
        try
        {
            await cluster.FormAsync(nodes, ActorCkptSettings.Create(config).WriterPoolSize);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Asks every training node's agent, with its share of the ranks, and gathers the replies; a node
    /// process that ends meanwhile (not killed on purpose) fails this at once, naming how it ended.
    /// </summary>
    public async Task<T[]> AskAllAsync<T>(Func<int, object> request)
    {
        var answers = Task.WhenAll(Agents.Select((a, i) => a.Ask<T>(request(i), Patience)));
        var running = _processes.Where(p => !p.KilledOnPurpose).ToArray();
        var ended = Task.WhenAny(running.Select(p => p.Process.WaitForExitAsync()));
        if (await Task.WhenAny(answers, ended) != answers)
        {
            var dead = running.First(p => p.Process.HasExited);
            _ = answers.ContinueWith(t => t.Exception, TaskScheduler.Default); // the other asks time out unobserved
            throw NodeEnded(dead, "while the driver waited for its answer");
        }
        return await answers;
    }

    /// <summary>
    /// Has every training node build its state of <paramref name="step"/> first (<see cref="PrepareDemoSave"/>),
    /// then node i save <paramref name="ranks"/>[i] of <paramref name="world"/> to <paramref name="tier"/>;
    /// the nodes' answers, or <see cref="CheckpointFailedException"/> naming the first failure. Preparing
    /// first keeps one node's building out of the others' clocks, which run until the collective commit.
    /// </summary>
    public async Task<DemoSaveDone[]> PreparedSaveAsync(long step, int[][] ranks, int world, DemoModel model, SaveTier tier = SaveTier.Policy)
    {
        await AskAllAsync<DemoSavePrepared>(_ => new PrepareDemoSave(step, world, model));
        var cpu = CpuSeconds();
        var saved = await AskAllAsync<DemoSaveDone>(i => new RunDemoSave(step, ranks[i], world, model, tier));
        LastSaveCpuSeconds = CpuSeconds() - cpu;
        if (saved.FirstOrDefault(s => s.Error is not null) is { } failed) throw new CheckpointFailedException(step, failed.Error!);
        return saved;
    }

    /// <summary>
    /// The CPU seconds the node processes spent in the last <see cref="PreparedSaveAsync"/>, from the
    /// save's start (the state prepared) to the last node's answer; null when not measured.
    /// </summary>
    public double? LastSaveCpuSeconds { get; private set; }

    /// <summary>The CPU seconds (user and system) the node processes have used so far; null off Linux or when one is gone.</summary>
    public double? CpuSeconds() => Bench.ProcessCpu.Seconds(_processes.Select(p => p.Process.Id));

    /// <summary><paramref name="count"/> ranks split in contiguous blocks over the training nodes.</summary>
    public int[][] SplitRanks(int count) =>
        Enumerable.Range(0, Agents.Count).Select(n => Enumerable.Range(0, count).Where(r => r * Agents.Count / count == n).ToArray()).ToArray();

    private async Task FormAsync(int nodes, int poolSize)
    {
        _poolSize = poolSize;
        var cluster = Cluster.Get(_system);
        await cluster.JoinSeedNodesAsync(new[] { cluster.SelfAddress }).WaitAsync(Patience);
        _seed = $"127.0.0.1:{cluster.SelfAddress.Port}";
        for (var i = 0; i < nodes; i++)
        {
            var node = _memory is null
                ? new DemoNodeProcess(i, i < nodes - 1 ? "rank,writer,planner" : "writer", null)
                : new DemoNodeProcess(i, "rank,writer,planner", MemoryDemo.Host(i));
            node.Start(_configFile, _seed);
            lock (_processes) _processes.Add(node);
        }
        await Task.WhenAll(_processes.Select(p => p.UpAsync(Patience)));
        await AwaitWholeAsync();
        if (_memory is null)
        {
            Agents = cluster.State.Members.Where(m => m.HasRole(ClusterRoles.Rank)).OrderBy(m => m.Address.Port)
                .Select(m => _system.ActorSelection(new RootActorPath(m.Address) / "user" / DemoAgentActor.Name)).ToList();
            WriterAgent = cluster.State.Members.Where(m => m.HasRole(ClusterRoles.Writer) && !m.HasRole(ClusterRoles.Rank))
                .Select(m => _system.ActorSelection(new RootActorPath(m.Address) / "user" / DemoAgentActor.Name)).Single();
        }
    }

    /// <summary>
    /// Waits until the cluster holds exactly the driver and the running incarnation of every node, all
    /// up and reachable (killed incarnations removed), and the planner knows every writer; the
    /// memory demo's agents then follow the node indices.
    /// </summary>
    public async Task AwaitWholeAsync()
    {
        var cluster = Cluster.Get(_system);
        var expected = _processes.Select(p => p.Address!).Append(cluster.SelfAddress).ToHashSet();
        await WaitAsync(() =>
        {
            if (_processes.FirstOrDefault(p => p.Process.HasExited) is { } dead)
                throw NodeEnded(dead, "while the cluster formed");
            var state = cluster.State;
            return Task.FromResult(state.Unreachable.Count == 0 && state.Members.Count == expected.Count
                && state.Members.All(m => m.Status == MemberStatus.Up && expected.Contains(m.Address)));
        }, () => $"{cluster.State.Members.Count(m => m.Status == MemberStatus.Up && expected.Contains(m.Address)) - 1} of {_processes.Count} nodes came up " +
                 $"({cluster.State.Members.Count} members, {cluster.State.Unreachable.Count} unreachable)");
        var writers = _processes.Count * _poolSize;
        await WaitAsync(async () =>
        {
            try
            {
                return (await Node.KnownWritersAsync(TimeSpan.FromSeconds(5))).Count == writers;
            }
            catch (Exception e) when (e is TimeoutException or AskTimeoutException or TaskCanceledException)
            {
                return false;
            }
        }, () => $"the planner did not find {writers} writers");
        if (_memory is not null)
            Agents = _processes.Select(p => _system.ActorSelection(new RootActorPath(p.Address!) / "user" / DemoAgentActor.Name)).ToList();
    }

    /// <summary>
    /// The memory demo: each node's replica holder answers a usage report (it has announced its
    /// host to the planner by then, as a save needs); the reports by host.
    /// </summary>
    public async Task<IReadOnlyList<ReplicaUsageReported>> HolderUsageAsync()
    {
        var holder = "actorckpt-replicas";
        return await Task.WhenAll(_processes.Select(p =>
            _system.ActorSelection(new RootActorPath(p.Address!) / "user" / holder).Ask<ReplicaUsageReported>(new ReportReplicaUsage(), Patience)));
    }

    /// <summary>
    /// SIGKILLs node processes <paramref name="indices"/> and waits until they are gone; with
    /// <paramref name="removeTmpfs"/> their hosts' replica directories go too, as with a lost machine.
    /// Returns the killed incarnations' addresses.
    /// </summary>
    public async Task<IReadOnlyList<Address>> KillAsync(IReadOnlyList<int> indices, bool removeTmpfs, string hostsDirectory)
    {
        var killed = indices.Select(i => _processes[i]).ToArray();
        await Task.WhenAll(killed.Select(p => p.KillAsync()));
        if (removeTmpfs)
            foreach (var p in killed)
            {
                var dir = Path.Combine(hostsDirectory, p.Host!);
                if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            }
        return killed.Select(p => p.Address!).ToArray();
    }

    /// <summary>Waits until the cluster has removed <paramref name="addresses"/> (the split-brain resolver downed them).</summary>
    public Task AwaitRemovedAsync(IReadOnlyList<Address> addresses)
    {
        var cluster = Cluster.Get(_system);
        return WaitAsync(() => Task.FromResult(!cluster.State.Members.Any(m => addresses.Contains(m.Address)) && cluster.State.Unreachable.Count == 0),
            () => $"the cluster did not remove the killed nodes: members [{string.Join(", ", cluster.State.Members.Select(m => $"{m.Address.Port}:{m.Status}"))}], unreachable {cluster.State.Unreachable.Count}");
    }

    /// <summary>Starts a new incarnation of each of <paramref name="indices"/> (same roles and host) and waits until the cluster is whole.</summary>
    public async Task RestartAsync(IReadOnlyList<int> indices)
    {
        foreach (var i in indices) _processes[i].Start(_configFile, _seed);
        await Task.WhenAll(indices.Select(i => _processes[i].UpAsync(Patience)));
        await AwaitWholeAsync();
    }

    /// <summary>Polls <paramref name="done"/> until true; throws <see cref="TimeoutException"/> with <paramref name="failure"/> after <paramref name="patience"/> (default <see cref="Patience"/>).</summary>
    public static async Task WaitAsync(Func<Task<bool>> done, Func<string> failure, TimeSpan? patience = null)
    {
        var deadline = DateTime.UtcNow + (patience ?? Patience);
        while (!await done())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException(failure());
            await Task.Delay(100);
        }
    }

    /// <summary>The nodes that did not exit by themselves when asked to stop and were killed, by index (filled by <see cref="StopAsync"/>).</summary>
    public IReadOnlyList<int> KilledAtStop => _killedAtStop;

    /// <summary>The node processes that had ended on their own (not killed on purpose) when the stop began: the run failed.</summary>
    public IReadOnlyList<DemoNodeProcess> EndedOnTheirOwn { get; private set; } = [];

    private readonly List<int> _killedAtStop = new();
    private bool _stopped;

    /// <summary>
    /// Asks the nodes to leave the cluster one at a time, youngest first, waiting for each process;
    /// kills what does not exit within 30 s (<see cref="KilledAtStop"/>), then stops the driver.
    /// All at once, the oldest planner node (the singleton's host) waited for a hand-over to nodes
    /// that were leaving too, and gave up only at its phase's timeout. Runs once.
    /// </summary>
    public async Task StopAsync()
    {
        if (_stopped) return;
        _stopped = true;
        try
        {
            await LeaveAsync();
        }
        finally
        {
            // Only now: a Ctrl-C during the stop (up to 30 s a node) still kills the nodes and removes the scratch directory.
            foreach (var registration in _interrupts) registration.Dispose();
        }
    }

    private async Task LeaveAsync()
    {
        // A node that died on its own fails the run: the others are killed at once rather than asked to
        // leave a cluster that cannot converge without it (30 s each, and the driver's own 10 s).
        EndedOnTheirOwn = _processes.Where(p => !p.KilledOnPurpose && p.Process.HasExited).ToArray();
        if (EndedOnTheirOwn.Count > 0)
        {
            foreach (var node in _processes.Where(p => !p.Process.HasExited))
            {
                node.Process.Kill(entireProcessTree: true);
                await node.Process.WaitForExitAsync();
            }
            Cluster.Get(_system).Down(Cluster.Get(_system).SelfAddress);
        }
        var members = Cluster.Get(_system).State.Members;
        int Age(DemoNodeProcess p) => members.FirstOrDefault(m => m.Address.Equals(p.Address)) is { } me ? members.Count(m => m.IsOlderThan(me)) : int.MaxValue;
        foreach (var node in _processes.OrderByDescending(Age))
        {
            var process = node.Process;
            // A node that never said it was up has no agent to ask.
            if (node.Address is null && !process.HasExited) process.Kill(entireProcessTree: true);
            else if (node.Address is { } address && !process.HasExited)
                _system.ActorSelection(new RootActorPath(address) / "user" / DemoAgentActor.Name).Tell(new StopNode());
            try
            {
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            }
            catch (TimeoutException)
            {
                _killedAtStop.Add(node.Index);
                process.Kill(entireProcessTree: true);
            }
            process.Dispose();
        }
        await CoordinatedShutdown.Get(_system).Run(CoordinatedShutdown.ClusterLeavingReason.Instance);
        File.Delete(_configFile);
    }

    /// <inheritdoc cref="StopAsync"/>
    public async ValueTask DisposeAsync() => await StopAsync();
}

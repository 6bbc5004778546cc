using System.Diagnostics;
using Akka.Actor;
using Akka.Cluster;

namespace ActorCkpt.Cli.Demo;

/// <summary>
/// K <c>actorckpt node</c> processes on 127.0.0.1 (K-1 training nodes with ranks, writers and the
/// planner role, and one writer-only node) with this process joined as a driver that hosts no
/// ranks and no writers. The driver asks each training node's <see cref="DemoAgentActor"/> to
/// save or load its ranks. Disposing asks every node to leave and waits for its process.
/// </summary>
internal sealed class NodeProcessCluster : IAsyncDisposable
{
    /// <summary>How long to wait for the cluster to form and for each request.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);

    private readonly ActorSystem _system;
    private readonly List<Process> _processes;
    private readonly string _configFile;

    private NodeProcessCluster(ActorSystem system, CheckpointNode node, List<Process> processes, string configFile)
    {
        _system = system;
        Node = node;
        _processes = processes;
        _configFile = configFile;
    }

    /// <summary>The driver's node (planner proxy and the shared store).</summary>
    public CheckpointNode Node { get; private set; }

    /// <summary>The agents of the training nodes, in a fixed order.</summary>
    public IReadOnlyList<ActorSelection> Agents { get; private set; } = Array.Empty<ActorSelection>();

    /// <summary>The agent of the writer-only node.</summary>
    public ActorSelection WriterAgent { get; private set; } = null!;

    /// <summary>Starts <paramref name="nodes"/> node processes over <paramref name="root"/> and waits until every writer is known.</summary>
    public static async Task<NodeProcessCluster> StartAsync(string root, int nodes, string placement, string? hocon)
    {
        if (nodes < 2) throw new ArgumentException("--nodes must be at least 2 (training nodes and one writer-only node)");
        root = Path.GetFullPath(root);
        Directory.CreateDirectory(root);
        var configFile = Path.Combine(Path.GetTempPath(), $"actorckpt-nodes-{Guid.NewGuid():N}.conf");
        await File.WriteAllTextAsync(configFile, $"actorckpt.root = \"{root}\"\nactorckpt.planner.placement = {placement}\n{hocon ?? ""}\n");
        var config = ActorCkptConfig.WithCatalog(
            ClusterNodeConfig.Build(RegularFile.ReadAllText(configFile, ActorCkpt.Hosting.ActorCkptOptions.MaxHoconFileBytes, "--config"), port: 0, roles: new[] { "driver" }, root: null), root);
        var system = ActorSystem.Create(ClusterNodeConfig.SystemName, config);
        var cluster = new NodeProcessCluster(system, CheckpointNode.Start(system, new LocalBlobStore(root)), new List<Process>(), configFile);
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

    /// <summary>Asks every training node's agent, with its share of the ranks, and gathers the replies.</summary>
    public Task<T[]> AskAllAsync<T>(Func<int, object> request) =>
        Task.WhenAll(Agents.Select((a, i) => a.Ask<T>(request(i), Patience)));

    /// <summary><paramref name="count"/> ranks split in contiguous blocks over the training nodes.</summary>
    public int[][] SplitRanks(int count) =>
        Enumerable.Range(0, Agents.Count).Select(n => Enumerable.Range(0, count).Where(r => r * Agents.Count / count == n).ToArray()).ToArray();

    private async Task FormAsync(int nodes, int poolSize)
    {
        var cluster = Cluster.Get(_system);
        await cluster.JoinSeedNodesAsync(new[] { cluster.SelfAddress }).WaitAsync(Patience);
        var seed = $"127.0.0.1:{cluster.SelfAddress.Port}";
        for (var i = 0; i < nodes; i++)
            _processes.Add(StartNode(_configFile, seed, i < nodes - 1 ? "rank,writer,planner" : "writer"));
        await WaitAsync(() => Task.FromResult(cluster.State.Members.Count(m => m.Status == MemberStatus.Up) == nodes + 1),
            () => $"{cluster.State.Members.Count(m => m.Status == MemberStatus.Up) - 1} of {nodes} nodes came up");
        var writers = nodes * poolSize;
        await WaitAsync(async () => (await Node.KnownWritersAsync(Patience)).Count == writers, () => $"the planner did not find {writers} writers");
        Agents = cluster.State.Members.Where(m => m.HasRole(ClusterRoles.Rank)).OrderBy(m => m.Address.Port)
            .Select(m => _system.ActorSelection(new RootActorPath(m.Address) / "user" / DemoAgentActor.Name)).ToList();
        WriterAgent = cluster.State.Members.Where(m => m.HasRole(ClusterRoles.Writer) && !m.HasRole(ClusterRoles.Rank))
            .Select(m => _system.ActorSelection(new RootActorPath(m.Address) / "user" / DemoAgentActor.Name)).Single();
    }

    private static Process StartNode(string configFile, string seed, string roles)
    {
        var dll = typeof(NodeProcessCluster).Assembly.Location;
        var dotnet = Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath! : "dotnet";
        var psi = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { dll, "node", "--config", configFile, "--port", "0", "--seed", seed, "--roles", roles }) psi.ArgumentList.Add(a);
        var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start '{dotnet} {dll} node'");
        // Drained so a chatty node never blocks on a full pipe.
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitAsync(Func<Task<bool>> done, Func<string> failure)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!await done())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException(failure());
            await Task.Delay(100);
        }
    }

    /// <summary>Asks every node to leave the cluster and waits for its process; kills what does not stop in time.</summary>
    public async ValueTask DisposeAsync()
    {
        var self = Cluster.Get(_system).SelfAddress;
        foreach (var member in Cluster.Get(_system).State.Members.Where(m => !m.Address.Equals(self)))
            _system.ActorSelection(new RootActorPath(member.Address) / "user" / DemoAgentActor.Name).Tell(new StopNode());
        foreach (var p in _processes)
        {
            try
            {
                await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            }
            catch (TimeoutException)
            {
                p.Kill(entireProcessTree: true);
            }
            p.Dispose();
        }
        await CoordinatedShutdown.Get(_system).Run(CoordinatedShutdown.ClusterLeavingReason.Instance);
        File.Delete(_configFile);
    }
}

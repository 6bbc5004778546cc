using System.Diagnostics;
using Akka.Actor;
using Akka.Cluster;
using ActorCkpt.Actors;
using ActorCkpt.Host.Cli;
using ActorCkpt.Io;

namespace ActorCkpt.Host.Demo;

/// <summary>
/// <c>actorckpt demo ... --nodes K</c>: the demo across K node processes on 127.0.0.1 that it
/// starts itself (K-1 training nodes with ranks, writers and the planner role, and one writer-only
/// node). This process joins as a driver without ranks or writers: it forms the cluster, asks
/// each training node's agent to save its ranks, then to load on another rank count and check
/// bit-exact, reports the bytes each node's writers wrote, and stops the nodes.
/// </summary>
public static class ClusterDemoRunner
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);

    /// <summary>Runs the multi-node demo; returns the exit code (0 only when bit-exact).</summary>
    public static async Task<int> RunAsync(DemoRunner.Options o, int nodes, string placement, CliOutput output)
    {
        if (nodes < 2) throw new ArgumentException("--nodes must be at least 2 (training nodes and one writer-only node)");
        if (o.Ranks < nodes - 1) throw new ArgumentException($"--ranks {o.Ranks} leaves a training node without ranks; use at least {nodes - 1}");
        // Checks the model options here, before any process starts.
        _ = new SyntheticModel(o.SizeMb, o.Tensors, o.Layout, o.Seed);
        var model = new DemoModel(o.SizeMb, o.Tensors, o.Layout, o.Seed);
        var root = Path.GetFullPath(o.Dir);
        Directory.CreateDirectory(root);
        var configFile = Path.Combine(Path.GetTempPath(), $"actorckpt-demo-{Guid.NewGuid():N}.conf");
        await File.WriteAllTextAsync(configFile,
            $"actorckpt.root = \"{root}\"\nactorckpt.planner.placement = {placement}\n{o.Hocon ?? ""}\n");

        var config = ClusterNodeConfig.Build(await File.ReadAllTextAsync(configFile), port: 0, roles: new[] { "driver" }, root: null);
        var system = ActorSystem.Create(ClusterNodeConfig.SystemName, config);
        var processes = new List<Process>();
        try
        {
            var node = CheckpointNode.Start(system, new LocalBlobStore(root));
            var cluster = Cluster.Get(system);
            await cluster.JoinSeedNodesAsync(new[] { cluster.SelfAddress }).WaitAsync(Patience);
            var seed = $"127.0.0.1:{cluster.SelfAddress.Port}";
            for (var i = 0; i < nodes; i++)
                processes.Add(StartNode(configFile, seed, i < nodes - 1 ? "rank,writer,planner" : "writer"));

            await WaitAsync(() => cluster.State.Members.Count(m => m.Status == MemberStatus.Up) == nodes + 1,
                () => $"{cluster.State.Members.Count(m => m.Status == MemberStatus.Up) - 1} of {nodes} nodes came up");
            var writers = nodes * ActorCkptSettings.Create(config).WriterPoolSize;
            await WaitAsync(async () => (await node.KnownWritersAsync(Patience)).Count == writers, () => $"the planner did not find {writers} writers");
            var training = cluster.State.Members.Where(m => m.HasRole(ClusterRoles.Rank)).OrderBy(m => m.Address.Port).ToList();
            var agents = training.Select(m => system.ActorSelection(new RootActorPath(m.Address) / "user" / DemoAgentActor.Name)).ToList();
            output.Line($"cluster up: {training.Count} training nodes and 1 writer-only node, placement {placement}");

            var report = new Dictionary<string, object?>
            {
                ["layout"] = o.Layout, ["ranks"] = o.Ranks, ["load_ranks"] = o.LoadRanks, ["nodes"] = nodes, ["placement"] = placement,
            };
            var store = node.Store;
            var first = (store.LatestStep() ?? 0) + 1;
            for (var step = first; step < first + o.Steps; step++)
            {
                var ranks = Split(o.Ranks, agents.Count);
                var saves = await Task.WhenAll(agents.Select((a, i) => a.Ask<DemoSaveDone>(new RunDemoSave(step, ranks[i], o.Ranks, model), Patience)));
                if (saves.FirstOrDefault(s => s.Error is not null) is { } failed)
                {
                    output.Line($"save of step {step} failed: {failed.Error}");
                    return 1;
                }
                output.Line($"saved step {step} from {agents.Count} nodes: staged in {saves.Max(s => s.StagedSeconds):0.####} s, committed in {saves.Max(s => s.SavedSeconds):0.####} s");
                report["staged_s"] = Math.Round(saves.Max(s => s.StagedSeconds), 4);
                report["save_s"] = Math.Round(saves.Max(s => s.SavedSeconds), 4);
            }

            var latest = store.LatestStep() ?? throw new CheckpointNotFoundException($"no committed checkpoint in '{root}'");
            var metadata = store.ReadMetadata(latest);
            var loadRanks = Split(o.LoadRanks, agents.Count);
            var loads = await Task.WhenAll(agents.Select((a, i) => a.Ask<DemoLoadDone>(new RunDemoLoad(latest, loadRanks[i], o.LoadRanks, model), Patience)));
            var problems = loads.SelectMany(l => l.Problems).ToList();
            foreach (var p in problems.Take(20)) output.Line("MISMATCH " + p);
            var byNode = metadata.Files.GroupBy(f => f.Node).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Sum(f => f.Length));
            foreach (var (address, bytes) in byNode) output.Line($"  {address} wrote {bytes} bytes");
            output.Line($"loaded step {latest} on {o.LoadRanks} ranks over {agents.Count} nodes: {(problems.Count == 0 ? "bit-exact" : $"{problems.Count} differences")}");
            report["step"] = latest;
            report["bytes"] = metadata.TotalFileBytes;
            report["load_s"] = Math.Round(loads.Max(l => l.Seconds), 4);
            report["bytes_by_node"] = byNode;
            report["bit_exact"] = problems.Count == 0;
            output.Report(report);
            return problems.Count == 0 ? 0 : 1;
        }
        finally
        {
            await StopAsync(system, processes);
            File.Delete(configFile);
        }
    }

    /// <summary><paramref name="count"/> ranks split in contiguous blocks over <paramref name="nodes"/> nodes.</summary>
    private static int[][] Split(int count, int nodes) =>
        Enumerable.Range(0, nodes).Select(n => Enumerable.Range(0, count).Where(r => r * nodes / count == n).ToArray()).ToArray();

    private static Process StartNode(string configFile, string seed, string roles)
    {
        var dll = typeof(ClusterDemoRunner).Assembly.Location;
        var dotnet = Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath! : "dotnet";
        var psi = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { dll, "node", "--config", configFile, "--port", "0", "--seed", seed, "--roles", roles }) psi.ArgumentList.Add(a);
        var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start '{dotnet} {dll} node'");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitAsync(Func<bool> done, Func<string> failure) => await WaitAsync(() => Task.FromResult(done()), failure);

    private static async Task WaitAsync(Func<Task<bool>> done, Func<string> failure)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!await done())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException(failure());
            await Task.Delay(100);
        }
    }

    /// <summary>Asks every node to leave the cluster and waits for its process; kills what does not stop.</summary>
    private static async Task StopAsync(ActorSystem system, List<Process> processes)
    {
        foreach (var member in Cluster.Get(system).State.Members.Where(m => !m.Address.Equals(Cluster.Get(system).SelfAddress)))
            system.ActorSelection(new RootActorPath(member.Address) / "user" / DemoAgentActor.Name).Tell(new StopNode());
        foreach (var p in processes)
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
        await CoordinatedShutdown.Get(system).Run(CoordinatedShutdown.ClusterLeavingReason.Instance);
    }
}

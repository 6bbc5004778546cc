using ActorCkpt.Cli;

namespace ActorCkpt.Cli.Demo;

/// <summary>
/// <c>actorckpt demo ... --nodes K</c>: the demo across K node processes (see
/// <see cref="NodeProcessCluster"/>): each training node saves its ranks, then loads on another
/// rank count and checks bit-exact; reports the bytes each node's writers wrote.
/// </summary>
internal static class ClusterDemoRunner
{
    /// <summary>Runs the multi-node demo; returns the exit code (0 only when bit-exact).</summary>
    public static async Task<int> RunAsync(DemoRunner.Options o, int nodes, string placement, CliOutput output)
    {
        if (o.Ranks < nodes - 1) throw new ArgumentException($"--ranks {o.Ranks} leaves a training node without ranks; use at least {nodes - 1}");
        // Checks the model options here, before any process starts.
        _ = new SyntheticModel(o.SizeMb, o.Tensors, o.Layout, o.Seed);
        var model = new DemoModel(o.SizeMb, o.Tensors, o.Layout, o.Seed);
        await using var cluster = await NodeProcessCluster.StartAsync(o.Dir, nodes, placement, o.Hocon);
        output.Line($"cluster up: {cluster.Agents.Count} training nodes and 1 writer-only node, placement {placement}");
        var report = new Dictionary<string, object?>
        {
            ["layout"] = o.Layout, ["ranks"] = o.Ranks, ["load_ranks"] = o.LoadRanks, ["nodes"] = nodes, ["placement"] = placement,
        };
        var store = cluster.Node.Store;
        var first = DemoSteps.First(await NewestOnDiskAsync(cluster), o.Steps, o.Dir);
        for (var step = first; step < first + o.Steps; step++)
        {
            var ranks = cluster.SplitRanks(o.Ranks);
            var saves = await cluster.AskAllAsync<DemoSaveDone>(i => new RunDemoSave(step, ranks[i], o.Ranks, model));
            // One line on stderr, exit 1, as the one-process demo's failed save.
            if (saves.FirstOrDefault(s => s.Error is not null) is { } failed) throw new ActorCkptException(failed.Error!);
            output.Line($"saved step {step} from {cluster.Agents.Count} nodes: staged in {saves.Max(s => s.StagedSeconds):0.####} s, committed in {saves.Max(s => s.SavedSeconds):0.####} s");
            report["staged_s"] = Math.Round(saves.Max(s => s.StagedSeconds), 4);
            report["save_s"] = Math.Round(saves.Max(s => s.SavedSeconds), 4);
        }

        var latest = o.Steps > 0 ? first + o.Steps - 1
            : await NewestOnDiskAsync(cluster) ?? throw new CheckpointNotFoundException($"no committed checkpoint in '{o.Dir}'");
        var metadata = store.ReadMetadata(latest);
        var loadRanks = cluster.SplitRanks(o.LoadRanks);
        var loads = await cluster.AskAllAsync<DemoLoadDone>(i => new RunDemoLoad(latest, loadRanks[i], o.LoadRanks, model));
        // A load that failed (a transfer cut off, say) read no wrong bytes: said as a failure, not as differences.
        if (loads.FirstOrDefault(l => l.Error is not null) is { Error: { } error })
        {
            report["bit_exact"] = false;
            report["error"] = error;
            output.Failure($"the load of step {latest} failed: {error}");
            await cluster.StopAsync();
            output.Report(report);
            return 1;
        }
        var problems = loads.SelectMany(l => l.Problems).ToList();
        foreach (var p in problems.Take(20)) output.Line("MISMATCH " + p);
        var byNode = BytesByNode(metadata);
        foreach (var (address, bytes) in byNode) output.Line($"  {address} wrote {bytes} bytes");
        output.Line($"loaded step {latest} on {o.LoadRanks} ranks over {cluster.Agents.Count} nodes: {(problems.Count == 0 ? "bit-exact" : $"{problems.Count} differences")}");
        report["step"] = latest;
        report["bytes"] = metadata.TotalFileBytes;
        report["load_s"] = Math.Round(loads.Max(l => l.Seconds), 4);
        report["bytes_by_node"] = byNode;
        report["bit_exact"] = problems.Count == 0;
        if (problems.Count > 0) output.Failure($"step {latest} loaded with {problems.Count} differences, the first: {problems[0]}");
        await cluster.StopAsync();
        // Before, a node that died after the load (SIGKILL, a crash) was said to have left and exited, and the run passed.
        if (cluster.EndedOnTheirOwn.FirstOrDefault() is { } dead)
            output.Failure($"node {dead.Index} {dead.Ending("before the cluster stopped")}; the other nodes were killed");
        else
            output.Line(cluster.KilledAtStop.Count == 0
                ? $"cluster stopped: all {nodes} node processes left and exited"
                : $"cluster stopped: node {string.Join(", ", cluster.KilledAtStop)} did not exit within 30 s of leaving and was killed");
        output.Report(report);
        return problems.Count == 0 && cluster.EndedOnTheirOwn.Count == 0 ? 0 : 1;
    }

    /// <summary>
    /// The newest step the catalog records committed on disk, as the one-process demo goes by
    /// (<see cref="Checkpointer.GetLatestStepAsync"/>): a directory the planner refused is no step, and
    /// a committed step whose metadata was lost still is (its load fails naming it).
    /// </summary>
    private static async Task<long?> NewestOnDiskAsync(NodeProcessCluster cluster) =>
        (await cluster.CatalogAsync()).Where(e => e.OnDisk).Select(e => (long?)e.Step).Max();

    /// <summary>Bytes of data files each node's writers wrote, by node address.</summary>
    public static Dictionary<string, long> BytesByNode(CheckpointMetadata metadata) =>
        metadata.Files.GroupBy(f => f.Node).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Sum(f => f.Length));
}

using System.Diagnostics;
using Akka.Actor;

namespace ActorCkpt.Cli.Demo;

/// <summary>
/// <c>actorckpt demo --nodes K --tier memory</c>, the memory tier's acceptance run: K node processes,
/// each a host of its own with ranks, writers and a replica store; S steps saved by the tier policy
/// (memory every step, disk every N-th once background persist writes it); the listed nodes taken
/// away (<c>--kill-node</c>: the process and its host's tmpfs replicas; <c>--kill-process</c>: the
/// process only) and started again; then every rank loads the newest loadable step, from whichever
/// tier has it, and checks it bit-exact. Reports where the step came from and, when it is not the
/// newest saved one from memory, why.
/// </summary>
internal static class MemoryDemoRunner
{
    /// <summary>
    /// Ends the run for a save that failed (<paramref name="error"/> names the step or the node): the
    /// error on stderr, the cluster stopped, then the JSON report, still the last line on stdout (the
    /// acceptance contract). Returns the exit code.
    /// </summary>
    private static async Task<int> FailedAsync(NodeProcessCluster cluster, string error, Dictionary<string, object?> report, CliOutput output)
    {
        output.Failure(error);
        report["error"] = error;
        report["bit_exact"] = false;
        await cluster.StopAsync(); // before the report: its JSON is the last line
        output.Report(report);
        return 1;
    }

    /// <summary>Runs the memory demo; returns the exit code (0 only when the load is bit-exact).</summary>
    public static async Task<int> RunAsync(DemoRunner.Options o, int nodes, string placement, MemoryDemo memory, CliOutput output)
    {
        if (o.Ranks < nodes) throw new ArgumentException($"--ranks {o.Ranks} leaves a node without ranks; use at least {nodes}");
        // Checks the model options here, before any process starts.
        _ = new SyntheticModel(o.SizeMb, o.Tensors, o.Layout, o.Seed);
        var model = new DemoModel(o.SizeMb, o.Tensors, o.Layout, o.Seed);
        memory = memory.AsConfigured(o.Hocon, nodes);
        var root = Path.GetFullPath(o.Dir);
        // Where the nodes' replica stores put this root's hosts (as CheckpointNode derives it).
        var hostsDirectory = Path.Combine(memory.Directory, ReplicaLayout.Namespace(Path.GetFullPath(new LocalBlobStore(root).Root)));
        await using var cluster = await NodeProcessCluster.StartAsync(root, nodes, placement, o.Hocon, memory);
        await cluster.HolderUsageAsync();
        output.Line($"cluster up: {nodes} nodes (hosts node-0 to node-{nodes - 1}, each with ranks, writers and replicas); memory tier on, " +
                    $"{memory.Replicas} {(memory.Replicas == 1 ? "replica" : "replicas")} per shard, disk every {memory.DiskEvery}; replicas in {hostsDirectory}");
        // The nodes' holders warn of this in their own logs, which the demo does not show.
        foreach (var problem in ReplicaDirectoryCheck.Problems(memory.Directory, MountedFileSystem.Of(memory.Directory), budgetBytes: 0))
            output.Line("warning: " + problem);
        var report = new Dictionary<string, object?>
        {
            ["layout"] = o.Layout, ["ranks"] = o.Ranks, ["nodes"] = nodes, ["tier"] = "memory", ["replicas"] = memory.Replicas,
            ["disk_every"] = memory.DiskEvery, ["kill"] = memory.KillText,
        };

        var ranks = cluster.SplitRanks(o.Ranks);
        var first = DemoSteps.First((await cluster.CatalogAsync()).Select(e => (long?)e.Step).Max(), o.Steps, o.Dir);
        var last = first + o.Steps - 1;
        for (var step = first; step <= last; step++)
        {
            DemoSaveDone[] saves;
            try
            {
                saves = await cluster.AskAllAsync<DemoSaveDone>(i => new RunDemoSave(step, ranks[i], o.Ranks, model));
            }
            catch (ActorCkptException e)
            {
                // A node process that died during the save: the run ends as for a failed save, report last.
                return await FailedAsync(cluster, e.Message, report, output);
            }
            if (saves.FirstOrDefault(s => s.Error is not null) is { } failed) return await FailedAsync(cluster, failed.Error!, report, output);
            report["save_s"] = Math.Round(saves.Max(s => s.SavedSeconds), 4);
            output.Line($"saved step {step} from {nodes} nodes: committed in {saves.Max(s => s.SavedSeconds):0.####} s");
        }
        DemoLoadDone[] loads;
        List<string> problems;
        ((long Step, StorageTier Tier)? Outcome, TimeSpan Seconds) recovery;
        try
        {
            // A step due on disk goes there in the background: the drill waits for it, as a job would
            // before it risks its nodes, so that the kill takes away the memory tier only, every run alike.
            await cluster.Node.Planner.Ask<PersistsIdle>(AwaitPersists.Instance, cluster.Node.Settings.PersistTimeout + NodeProcessCluster.Patience);
            var saved = (await cluster.CatalogAsync()).Where(e => e.Step >= first && e.Step <= last).ToArray();
            foreach (var e in saved) output.Line($"  step {e.Step}: {Tiers(e)}");
            report["saved_steps"] = saved.Select(e => new Dictionary<string, object?> { ["step"] = e.Step, ["status"] = e.Status.ToString().ToLowerInvariant(), ["tiers"] = TierNames(e) }).ToArray();

            if (memory.Kill.Length > 0)
            {
                var clock = Stopwatch.StartNew();
                var killed = await cluster.KillAsync(memory.Kill, memory.RemoveTmpfs, hostsDirectory);
                var what = string.Join(", ", memory.Kill.Select(i => $"node {i}"));
                output.Line($"killed {what} (SIGKILL{(memory.RemoveTmpfs ? "; their hosts' tmpfs replicas removed" : "; tmpfs replicas kept")})");
                await cluster.AwaitRemovedAsync(killed);
                report["detect_s"] = CliOutput.Seconds(clock.Elapsed);
                output.Line($"the cluster removed them after {CliOutput.Seconds(clock.Elapsed)} s; restarting them on the same hosts");
                await cluster.RestartAsync(memory.Kill);
                await cluster.HolderUsageAsync();
                var wiped = memory.RemoveTmpfs ? memory.Kill.Select(MemoryDemo.Host).ToHashSet() : new HashSet<string>();
                if (await AwaitRestoredAsync(cluster, first, last, wiped) is { } pending) output.Line($"note: {pending}");
                output.Line($"cluster whole again after {CliOutput.Seconds(clock.Elapsed)} s");
            }

            (loads, problems, recovery) = await LoadNewestAsync(cluster, ranks, o.Ranks, model, output);
        }
        catch (Exception e) when (e is ActorCkptException or TimeoutException or AskTimeoutException)
        {
            // A node process that died (or a wait that ran out) after the saves: the report still comes last.
            return await FailedAsync(cluster, e.Message, report, output);
        }
        var (loaded, recover) = recovery;
        foreach (var p in problems.Distinct().Take(20)) output.Line((loaded is null ? "LOAD FAILED " : "MISMATCH ") + p);
        var fallback = Fallback(await cluster.CatalogAsync(), last, loaded);
        if (fallback is not null) output.Line("fallback: " + fallback);
        var bitExact = problems.Count == 0 && loaded is not null;
        output.Line(loaded is { } l
            ? $"loaded step {l.Step} from {Name(l.Tier)} on {o.Ranks} ranks over {nodes} nodes in {CliOutput.Seconds(recover)} s: {(bitExact ? "bit-exact" : $"{problems.Count} differences")}"
            : $"no step loaded on {o.Ranks} ranks over {nodes} nodes");

        var usage = await cluster.HolderUsageAsync();
        report["loaded_step"] = loaded?.Step;
        report["recovered_from"] = loaded is { } r ? Name(r.Tier) : "none";
        report["recover_s"] = CliOutput.Seconds(recover);
        report["bit_exact"] = bitExact;
        report["fallback"] = fallback;
        if (!bitExact)
            output.Failure(loaded is { } f ? $"step {f.Step} loaded from {Name(f.Tier)} with {problems.Count} differences, the first: {problems[0]}"
                : $"no step loaded: {problems.FirstOrDefault() ?? fallback ?? "the nodes loaded nothing"}");
        report["bytes_from_peers"] = loads.Sum(x => x.BytesFromPeers);
        report["bytes_from_peers_by_node"] = loads.Select((x, i) => (MemoryDemo.Host(i), x.BytesFromPeers)).ToDictionary(x => x.Item1, x => x.BytesFromPeers);
        report["tmpfs_used_bytes_by_host"] = usage.OrderBy(u => u.Host, StringComparer.Ordinal).ToDictionary(u => u.Host, u => u.FileBytes);
        await cluster.StopAsync(); // before the report: its JSON is the last line
        output.Report(report);
        return bitExact ? 0 : 1;
    }

    /// <summary>
    /// Loads on every rank the step the planner resolves as the newest loadable one, all ranks the same
    /// step. When that load fails (a copy found bad or gone meanwhile is marked lost by it), the step is
    /// resolved again and, when that gives another one, loaded instead, as a job resuming would: the
    /// ranks never end on two steps. Returns the last attempt's answers and problems, and the step and
    /// tier loaded (null when none) with the time from the first request to the last answer.
    /// </summary>
    private static async Task<(DemoLoadDone[] Loads, List<string> Problems, ((long Step, StorageTier Tier)? Loaded, TimeSpan Seconds) Recovery)> LoadNewestAsync(
        NodeProcessCluster cluster, int[][] ranks, int world, DemoModel model, CliOutput output)
    {
        var clock = Stopwatch.StartNew();
        var tried = new HashSet<long>();
        while (true)
        {
            var step = await ResolveAsync(cluster);
            if (step is { } s) tried.Add(s);
            var loads = await cluster.AskAllAsync<DemoLoadDone>(i => new RunDemoLoad(step, ranks[i], world, model));
            var problems = loads.SelectMany(l => l.Problems).ToList();
            var outcomes = loads.Where(l => l.Step >= 0).Select(l => (l.Step, l.Tier)).Distinct().ToArray();
            if (outcomes.Length > 1) problems.Add($"the nodes loaded different steps: {string.Join(", ", outcomes.Select(o => $"step {o.Step} from {Name(o.Tier)}"))}");
            var loaded = outcomes.Length == 1 && loads.All(l => l.Step >= 0) ? outcomes[0] : ((long Step, StorageTier Tier)?)null;
            if (loaded is not null || step is null) return (loads, problems, (loaded, clock.Elapsed));
            // The loaders' reports of the copies they refused reach the planner by other hops than this ask: a while to catch up.
            var again = step;
            try
            {
                await NodeProcessCluster.WaitAsync(async () => (again = await ResolveAsync(cluster)) != step, () => "", TimeSpan.FromSeconds(3));
            }
            catch (TimeoutException)
            {
                // Still the same step: nothing older to fall back on.
            }
            if (again is null || tried.Contains(again.Value)) return (loads, problems, (loaded, clock.Elapsed));
            output.Line($"step {step} could not be loaded ({problems.FirstOrDefault() ?? "no answer"}); the newest loadable step is now {again}: loading it instead");
        }
    }

    /// <summary>The step a load of the newest would read now, as the planner resolves it.</summary>
    private static async Task<long?> ResolveAsync(NodeProcessCluster cluster) =>
        (await cluster.Node.Planner.Ask<LatestStepResolved>(new ResolveLatestStep(), NodeProcessCluster.Patience)).Step;

    /// <summary>
    /// Why the load did not take the newest saved step (<paramref name="newest"/>) from memory, from
    /// the catalog's holders and lost marks; null when it did.
    /// </summary>
    internal static string? Fallback(IReadOnlyList<CatalogEntry> catalog, long newest, (long Step, StorageTier Tier)? loaded)
    {
        if (loaded is { Tier: StorageTier.Memory } l && l.Step == newest) return null;
        var steps = catalog.Where(e => e.Status == CheckpointStatus.Committed).Select(e => new TieredStep(e.Step, e.OnDisk, e.InMemory ? e.Memory : null)).ToArray();
        // Every holder counted live: after recovery the catalog's lost marks say which copies are gone.
        var (choice, refusal) = LoadSources.Choose(steps, newest, null, _ => true, null);
        var why = choice switch
        {
            null => refusal!,
            { Tier: StorageTier.Disk } => choice.PassedOver.LastOrDefault() ?? $"step {newest}: not in memory (evicted), on disk",
            _ => $"step {newest} is loadable from memory by the catalog's marks, but a holder of it was not live when the ranks loaded",
        };
        return why + "; " + (loaded is { } s ? $"loaded step {s.Step} from {Name(s.Tier)}" : "no step could be loaded");
    }

    /// <summary>
    /// Waits until the copies of steps <paramref name="first"/> to <paramref name="last"/> on hosts
    /// whose tmpfs was kept are no longer marked lost (their restarted holders announced them);
    /// returns what is still pending when lost-after (and some slack) has passed, else null.
    /// </summary>
    private static async Task<string?> AwaitRestoredAsync(NodeProcessCluster cluster, long first, long last, IReadOnlySet<string> wiped)
    {
        IReadOnlyList<string> pending = Array.Empty<string>();
        try
        {
            await NodeProcessCluster.WaitAsync(async () =>
            {
                pending = (await cluster.CatalogAsync()).Where(e => e.Step >= first && e.Step <= last && e.InMemory)
                    .SelectMany(e => e.Memory!.Shards.SelectMany(s => s.Lost.Select(h => e.Memory.Hosts[h])))
                    .Where(h => !wiped.Contains(h)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
                return pending.Count == 0;
            }, () => "", MemoryDemo.LostAfter + TimeSpan.FromSeconds(15));
            return null;
        }
        catch (TimeoutException)
        {
            return $"copies on {string.Join(", ", pending)} are still marked lost although their tmpfs was kept";
        }
    }

    /// <summary>The tiers a committed step is on (none for any other status).</summary>
    private static IReadOnlyList<string> TierNames(CatalogEntry e) => e.Status == CheckpointStatus.Committed ? CatalogLine.Tiers(e) : [];

    /// <summary>A saved step as the catalog records it: its tiers, and its memory copies' holders.</summary>
    private static string Tiers(CatalogEntry e)
    {
        if (e.Status != CheckpointStatus.Committed) return e.Status.ToString().ToLowerInvariant() + (e.Reason is null ? "" : $": {e.Reason}");
        var tiers = string.Join(", ", TierNames(e));
        if (!e.InMemory) return $"[{tiers}]";
        var hosts = e.Memory!.Shards.SelectMany(s => s.Holders).Distinct().Order().Select(h => e.Memory.Hosts[h]);
        return $"[{tiers}], copies on {string.Join(", ", hosts)} ({e.Memory.Shards.Min(s => s.Holders.Count)} per shard)";
    }

    private static string Name(StorageTier tier) => tier.ToString().ToLowerInvariant();
}

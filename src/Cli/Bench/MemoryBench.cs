using ActorCkpt.Cli.Demo;
using Akka.Actor;

namespace ActorCkpt.Cli.Bench;

/// <summary>
/// <c>actorckpt bench --nodes K --tier memory</c> (issue 19): one cluster of K node processes, each a
/// host of its own, the memory tier on with R copies. For one state it measures, in the same run,
/// a save to disk (new blocks beside the earlier steps) and one to memory (until R copies are held,
/// and the loop's block, the staging copy), then takes the last node away with its tmpfs, restarts
/// it, and times its ranks loading the memory step from the peers against the same ranks loading
/// a disk step with its files dropped from the page cache (both after a first, untimed-for-the-ratio
/// load of each kind: the replacement process compiles its load path then, reported as
/// <c>memory_recover_first_s</c>), and a plain socket copy of as many bytes between two of the
/// nodes. Runs alternate which save goes first.
/// </summary>
internal static class MemoryBench
{
    /// <summary>The issue's targets, each a ratio of this bench's figures, a bound, and whether the bound is a floor.</summary>
    public static readonly IReadOnlyList<(string Ratio, double Bound, bool AtLeast)> Targets =
    [
        ("memory_over_disk_save", 0.5, false),
        ("memory_recover_over_disk_cold", 0.8, false),
        ("memory_recover_over_socket", 0.5, true),
    ];

    /// <summary>Runs it; the exit code is 0 when every load was bit-exact.</summary>
    public static async Task<int> RunAsync(BenchRunner.Options o, CliOutput output)
    {
        if (o.Nodes < 2) throw new ArgumentException($"--tier memory needs --nodes 2 or more (each node process is a host of its own); got --nodes {o.Nodes}");
        if (o.Replicas < 1 || o.Replicas > o.Nodes) throw new ArgumentException($"--replicas {o.Replicas}: accepted 1 to {o.Nodes} (the hosts of --nodes {o.Nodes})");
        // Every node hosts ranks: at least one each.
        o = o with { Ranks = Math.Max(o.Ranks, o.Nodes) };
        var root = Path.GetFullPath(Path.Combine(o.Dir, "actorckpt-memory"));
        BenchFolders.Clear(o.Dir, "actorckpt-memory");
        var replicas = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), "actorckpt-bench-" + Guid.NewGuid().ToString("N")[..12]);
        var model = new DemoModel(o.SizeMb, o.Tensors, o.Layout, 1);
        var last = o.Nodes - 1;
        try
        {
            await using var cluster = await NodeProcessCluster.StartAsync(root, o.Nodes, "local", o.Hocon, new MemoryDemo(o.Replicas, 0, [], false, replicas), "bench", scratch: replicas);
            await cluster.HolderUsageAsync();
            var ranks = cluster.SplitRanks(o.Ranks);
            Task<DemoSaveDone[]> Save(long step, SaveTier tier) => cluster.PreparedSaveAsync(step, ranks, o.Ranks, model, tier);

            // Cold saves of both kinds (code compiled, buffers first touched, connections made), untimed.
            long step = 0, memoryStep = ++step, diskStep = ++step;
            var warmUp = new List<double> { Slowest(await Save(memoryStep, SaveTier.Memory)) };
            await Save(diskStep, SaveTier.Disk);
            // Then memory saves until the tier is in the state of a job that checkpoints every step:
            // keep-last reached, the oldest step evicted and its files spares for the next copies.
            // Until then every copy takes fresh pages (docs/memory-tier.md, "Recycled replica files").
            for (var i = 0; i < WarmUpSaves && !(await cluster.HolderUsageAsync()).Any(u => u.SpareBytes > 0); i++)
                warmUp.Add(Slowest(await Save(memoryStep = ++step, SaveTier.Memory)));
            var runs = new List<Dictionary<string, object?>>();
            long previousMemory = memoryStep, previousDisk = diskStep;
            for (var i = 0; i < o.Runs; i++)
            {
                (previousMemory, previousDisk) = (memoryStep, diskStep);
                memoryStep = ++step;
                diskStep = ++step;
                var memoryFirst = i % 2 == 0;
                var memory = memoryFirst ? await Save(memoryStep, SaveTier.Memory) : null;
                var disk = await Save(diskStep, SaveTier.Disk);
                memory ??= await Save(memoryStep, SaveTier.Memory);
                runs.Add(new Dictionary<string, object?>
                {
                    ["memory_save_s"] = Slowest(memory),
                    ["memory_staged_s"] = Round(memory.Max(s => s.StagedSeconds)),
                    ["disk_save_s"] = Slowest(disk),
                    ["memory_first"] = memoryFirst,
                });
            }
            var held = await cluster.HolderUsageAsync();

            // The last node is lost with its tmpfs, and comes back empty: its ranks recover the newest memory step from the peers.
            var killed = await cluster.KillAsync([last], removeTmpfs: true, Path.Combine(replicas, ReplicaLayout.Namespace(root)));
            await cluster.AwaitRemovedAsync(killed);
            await cluster.RestartAsync([last]);
            await cluster.HolderUsageAsync();
            // The replacement process's first loads compile the load path: the first recovery is reported
            // apart, then both loads are timed warm, from the same process, as the saves were.
            // (The memory step before the timed one is still held: keep-last is 2.)
            var first = await cluster.Agents[last].Ask<DemoLoadDone>(new RunDemoLoad(previousMemory, ranks[last], o.Ranks, model, Only: StorageTier.Memory), NodeProcessCluster.Patience);
            await cluster.Agents[last].Ask<DemoLoadDone>(new RunDemoLoad(previousDisk, ranks[last], o.Ranks, model, Only: StorageTier.Disk), NodeProcessCluster.Patience);
            var recover = await cluster.Agents[last].Ask<DemoLoadDone>(new RunDemoLoad(memoryStep, ranks[last], o.Ranks, model, Only: StorageTier.Memory), NodeProcessCluster.Patience);
            // The same ranks, a disk step of the same state, its files out of the page cache.
            PageCache.Drop(Path.Combine(root, CheckpointLayout.StepDirectory(diskStep)));
            var cold = await cluster.Agents[last].Ask<DemoLoadDone>(new RunDemoLoad(diskStep, ranks[last], o.Ranks, model, Only: StorageTier.Disk), NodeProcessCluster.Patience);
            var copied = Math.Max(recover.BytesFromPeers, 1);
            var sink = await cluster.Agents[last].Ask<SocketSinkOpened>(new OpenSocketSink(copied), NodeProcessCluster.Patience);
            var socket = await cluster.Agents[0].Ask<SocketCopyDone>(new RunSocketCopy(sink.Endpoint, copied), NodeProcessCluster.Patience);
            if (socket.Error is not null) throw new IOException($"socket baseline: {socket.Error}");

            var problems = first.Problems.Concat(recover.Problems).Concat(cold.Problems).ToArray();
            if (recover.Tier != StorageTier.Memory) problems = [.. problems, $"the recovery read step {recover.Step} from {recover.Tier}, not memory"];
            foreach (var p in problems.Take(5)) output.Line($"bench: {p}");
            var figures = new Dictionary<string, object?>
            {
                ["memory_save_s"] = Median(runs, "memory_save_s"),
                ["memory_warm_up_save_s"] = warmUp,
                ["memory_staged_s"] = Median(runs, "memory_staged_s"),
                ["disk_save_s"] = Median(runs, "disk_save_s"),
                ["memory_recover_s"] = Round(recover.Seconds),
                ["memory_recover_first_s"] = Round(first.Seconds),
                ["memory_recover_bytes"] = recover.BytesFromPeers,
                ["memory_recover_gbps"] = recover.Seconds > 0 ? Round(recover.BytesFromPeers / recover.Seconds / 1e9) : null,
                ["disk_cold_load_s"] = Round(cold.Seconds),
                ["socket_baseline_gbps"] = socket.Seconds > 0 ? Round(copied / socket.Seconds / 1e9) : null,
            };
            var ratios = new Dictionary<string, double?>
            {
                ["memory_over_disk_save"] = Ratio(figures["memory_save_s"], figures["disk_save_s"]),
                ["memory_recover_over_disk_cold"] = Ratio(figures["memory_recover_s"], figures["disk_cold_load_s"]),
                ["memory_recover_over_socket"] = Ratio(figures["memory_recover_gbps"], figures["socket_baseline_gbps"]),
            };
            var met = ChannelTargets.Met(Targets, ratios);
            var exact = problems.Length == 0;

            output.Line($"actorckpt memory tier on {o.Nodes} nodes, {o.Replicas} copies per shard, {o.SizeMb} MiB in {o.Tensors} tensors over {o.Ranks} ranks ({o.Layout}); bit-exact {(exact ? "yes" : "no")}" +
                        (runs.Count > 1 ? $" (medians of {runs.Count} runs)" : ""));
            for (var i = 0; i < runs.Count; i++) output.Line($"  run {i + 1}: " + string.Join(", ", runs[i].Select(f => $"{f.Key} {f.Value}")));
            output.Line($"  save: memory {figures["memory_save_s"]} s (the loop blocked {figures["memory_staged_s"]} s), disk {figures["disk_save_s"]} s; " +
                        $"memory saves before the runs, into fresh pages until an eviction left spares: {string.Join(", ", warmUp)} s");
            var diskFs = MountedFileSystem.Of(root);
            if (RunRoom.InMemory(diskFs.Type))
                output.Line($"  note: --dir is on {diskFs.Type}: the disk tier is memory here, and its \"cold\" load has no page cache to drop");
            output.Line($"  node {last} lost and restarted: its ranks recovered step {memoryStep} from memory in {figures["memory_recover_s"]} s ({recover.BytesFromPeers} bytes from peers, {figures["memory_recover_gbps"]} GB/s); " +
                        $"from disk, page cache dropped, {figures["disk_cold_load_s"]} s; a plain socket between nodes {figures["socket_baseline_gbps"]} GB/s");
            output.Line("targets: " + string.Join(", ", Targets.Select(t => $"{t.Ratio} {ratios[t.Ratio]?.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) ?? "-"} {(t.AtLeast ? ">=" : "<=")} {t.Bound} " +
                                                                            (met[t.Ratio] switch { true => "met", false => "MISSED", null => "not measured" }))));
            var report = new Dictionary<string, object?>
            {
                ["tier"] = "memory", ["nodes"] = o.Nodes, ["replicas"] = o.Replicas, ["ranks"] = o.Ranks, ["tensors"] = o.Tensors, ["layout"] = o.Layout,
                ["bytes"] = o.SizeMb << 20,
                // The disk tier's file system: on tmpfs, "cold" has no page cache to drop, and the disk figures are memory's.
                ["filesystem"] = diskFs.Type,
                ["filesystem_device"] = diskFs.Device,
            };
            foreach (var (k, v) in figures) report[k] = v;
            foreach (var (k, v) in ratios) report[k] = v;
            report["targets"] = ChannelTargets.Describe(Targets);
            report["targets_met"] = met;
            report["tmpfs_used_bytes_by_host"] = held.OrderBy(u => u.Host, StringComparer.Ordinal).ToDictionary(u => u.Host, u => u.FileBytes);
            report["runs"] = runs;
            report["bit_exact"] = exact;
            output.Report(report);
            return exact ? 0 : 1;
        }
        finally
        {
            if (Directory.Exists(replicas)) Directory.Delete(replicas, recursive: true);
        }
    }

    private static double Round(double seconds) => Math.Round(seconds, 4);

    /// <summary>Most memory saves after the first before the timed runs, while no eviction has left spares (keep-last 2 needs 2).</summary>
    private const int WarmUpSaves = 4;

    /// <summary>A save's time: its slowest node's.</summary>
    private static double Slowest(DemoSaveDone[] saves) => Round(saves.Max(s => s.SavedSeconds));

    private static double? Median(IEnumerable<Dictionary<string, object?>> runs, string key) =>
        BenchTargets.Median(runs.Select(r => r[key] as double?)) is { } m ? Round(m) : null;

    private static double? Ratio(object? a, object? b) => a is double x && b is double y && y > 0 ? Math.Round(x / y, 3) : null;
}

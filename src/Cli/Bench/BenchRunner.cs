using System.Diagnostics;
using System.Runtime.InteropServices;
using ActorCkpt.Cli;
using ActorCkpt.Cli.Demo;
using Akka.Actor;

namespace ActorCkpt.Cli.Bench;

/// <summary>
/// <c>actorckpt bench</c>: saves and loads a synthetic float32 model through ActorCkpt, in this
/// process or across node processes (<c>--nodes</c>), and in the same runs the raw baseline: the
/// save's data files (as many, as long, one thread per writer of the save) written from plain
/// native buffers and fsynced, then read back (see <see cref="RawFiles"/>). First, once per
/// process: a first (cold) save and a first load. Then <c>--runs</c> times, nothing deleted in
/// between (each run writes new steps and new raw files, as training with retention does), ours
/// and raw alternating (which goes first alternates from run to run): in this process an async
/// save (until Staged, the training loop's wait, and until committed), a plain memcpy of as many
/// bytes as staging copied, a synchronous save in place with its peak memory growth, the raw
/// write, loads of that save into tensors allocated beforehand (from the page cache, resharded
/// onto one rank more, and after dropping the files from it) and the raw read. The report gives
/// every run and, at the top level, the median of each figure and of each per-run ratio, beside
/// issue 21's targets (<see cref="BenchTargets"/>) and the file system measured. Measurement only.
/// </summary>
internal static class BenchRunner
{
    /// <summary>Options of <c>actorckpt bench</c>.</summary>
    public sealed record Options(string Dir, long SizeMb, int Tensors, int Ranks, string Layout, string? Hocon, int Nodes = 1, string Placement = "local", int Runs = 1,
        string Tier = "disk", int Replicas = 2);

    /// <summary>What one run measured; what only the in-process bench measures is null on nodes.</summary>
    private sealed record Run(TimeSpan Staged, TimeSpan AsyncSave, TimeSpan Load, TimeSpan RawWrite, TimeSpan RawRead, bool Exact)
    {
        public TimeSpan? SyncSave { get; init; }

        public TimeSpan? Memcpy { get; init; }

        public long? BytesStaged { get; init; }

        public long? SavePeakGrowth { get; init; }

        public TimeSpan? ColdLoad { get; init; }

        public TimeSpan? ReshardLoad { get; init; }

        /// <summary>Across nodes: the same state saved with local placement.</summary>
        public TimeSpan? LocalSave { get; init; }

        /// <summary>Across nodes: the spread save's bytes over the bulk channel per second the channel was moving them (the union of the transfers' spans, each from its first byte sent to its acknowledgement), in GB/s.</summary>
        public double? TransferGbps { get; init; }

        /// <summary>Across nodes: the same bytes over the whole span, from the first transfer's first byte to the last one's acknowledgement, in GB/s.</summary>
        public double? TransferSpanGbps { get; init; }

        /// <summary>Across nodes: the time the channel was moving bytes (the union of the transfers' spans).</summary>
        public TimeSpan? TransferBusy { get; init; }

        /// <summary>Across nodes: bytes the spread save moved between nodes.</summary>
        public long? CrossBytes { get; init; }

        /// <summary>Across nodes: a plain TCP copy of as many bytes between two of the node processes, in GB/s.</summary>
        public double? SocketGbps { get; init; }

        /// <summary>Across nodes: the same copy through the bulk channel, memory to memory (no file written), in GB/s.</summary>
        public double? ChannelGbps { get; init; }

        /// <summary>Across nodes: CPU seconds of all node processes in the local save, the spread save, the socket copy and the channel copy.</summary>
        public (double? LocalSave, double? SpreadSave, double? Socket, double? Channel) Cpu { get; init; }

        /// <summary>
        /// Across nodes: the least <c>spread_over_local</c> this machine allows, if the spread save does the
        /// local save's work plus a bare socket's work for the bytes it moves between nodes, on every
        /// core: max(local, (local CPU + socket CPU) / cores) / local. Null when a figure is missing, or the
        /// local save took under <see cref="FloorFrom"/>: the CPU figures come in ticks of 10 ms per process,
        /// and a floor from a few of them is noise (it came out above the measured ratio).
        /// </summary>
        public double? SpreadFloorOverLocal => LocalSave is { } local && Cpu is { LocalSave: { } l, Socket: { } k } && local >= FloorFrom
            ? Math.Round(Math.Max(local.TotalSeconds, (l + k) / Environment.ProcessorCount) / local.TotalSeconds, 3)
            : null;

        /// <summary>The shortest local save whose CPU figures bound <c>spread_over_local</c>.</summary>
        public static readonly TimeSpan FloorFrom = TimeSpan.FromSeconds(0.5);

        /// <summary>Across nodes: the warm load through the readers of the nodes that wrote the files, over the channel.</summary>
        public TimeSpan? ReaderLoad { get; init; }

        /// <summary>Across nodes: bytes every rank loaded, for the reader load's rate.</summary>
        public long? LoadedBytes { get; init; }

        /// <summary>This run's ratios against issue 18's targets (<see cref="ChannelTargets"/>), null where a figure is missing.</summary>
        public Dictionary<string, double?> ChannelRatios => new()
        {
            ["transfer_over_socket"] = TransferGbps is { } t && SocketGbps is { } s && s > 0 ? Math.Round(t / s, 3) : null,
            ["spread_over_local"] = LocalSave is { } local ? Ratio(AsyncSave, local) : null,
            ["cluster_load_over_raw"] = LocalSave is null ? null : Ratio(Load, RawRead),
            ["reader_load_over_socket"] = ReaderLoad is { } r && LoadedBytes is { } b && SocketGbps is { } g && g > 0 ? Math.Round(b / r.TotalSeconds / 1e9 / g, 3) : null,
        };

        /// <summary>The save compared with the raw write: the synchronous one where measured.</summary>
        public TimeSpan Save => SyncSave ?? AsyncSave;

        /// <summary>This run's ratios (<see cref="BenchTargets.Ratios"/>), null where a figure is missing.</summary>
        public Dictionary<string, double?> Ratios => new()
        {
            ["raw_write_over_memcpy"] = Memcpy is { } m ? Ratio(RawWrite, m) : null,
            ["save_over_raw"] = Ratio(Save, RawWrite),
            ["async_over_sync"] = SyncSave is { } sync ? Ratio(AsyncSave, sync) : null,
            ["load_over_raw"] = Ratio(Load, RawRead),
        };

        /// <summary>This run's figures as reported (seconds, bytes, ratios).</summary>
        public Dictionary<string, object?> Figures()
        {
            var figures = new Dictionary<string, object?>
            {
                ["staged_s"] = S(Staged),
                ["async_save_s"] = S(AsyncSave),
                ["memcpy_s"] = Memcpy is { } c ? S(c) : null,
                ["staged_bytes"] = BytesStaged,
                ["save_s"] = S(Save),
                ["save_peak_growth_bytes"] = SavePeakGrowth,
                ["load_s"] = S(Load),
                ["load_cold_s"] = ColdLoad is { } lc ? S(lc) : null,
                ["load_reshard_s"] = ReshardLoad is { } lr ? S(lr) : null,
                ["raw_write_s"] = S(RawWrite),
                ["raw_read_s"] = S(RawRead),
            };
            if (LocalSave is { } local)
            {
                figures["local_save_s"] = S(local);
                figures["spread_save_s"] = S(AsyncSave);
                figures["cross_node_bytes"] = CrossBytes;
                figures["transfer_gbps"] = TransferGbps;
                figures["transfer_span_gbps"] = TransferSpanGbps;
                figures["transfer_busy_s"] = TransferBusy is { } busy ? S(busy) : null;
                figures["socket_baseline_gbps"] = SocketGbps;
                figures["channel_baseline_gbps"] = ChannelGbps;
                figures["channel_over_socket"] = ChannelGbps is { } cg && SocketGbps is { } sg && sg > 0 ? Math.Round(cg / sg, 3) : null;
                figures["local_save_cpu_s"] = Cpu.LocalSave is { } lcpu ? Math.Round(lcpu, 2) : null;
                figures["spread_save_cpu_s"] = Cpu.SpreadSave is { } sc ? Math.Round(sc, 2) : null;
                figures["socket_cpu_s"] = Cpu.Socket is { } kc ? Math.Round(kc, 2) : null;
                figures["channel_cpu_s"] = Cpu.Channel is { } cc ? Math.Round(cc, 2) : null;
                figures["spread_over_local_floor"] = SpreadFloorOverLocal;
                figures["cluster_load_s"] = S(Load);
                figures["cluster_load_reader_s"] = ReaderLoad is { } rl ? S(rl) : null;
                foreach (var (k, v) in ChannelRatios) figures[k] = v;
            }
            foreach (var (k, v) in Ratios) figures[k] = v;
            figures["bit_exact"] = Exact;
            return figures;
        }
    }

    /// <summary>What the whole bench measured: the process's first save and load, and each run.</summary>
    private sealed record Measured(TimeSpan FirstSave, TimeSpan? FirstLoad, int Files, IReadOnlyList<Run> Runs, RawFiles Raw)
    {
        public Dictionary<string, long>? BytesByNode { get; init; }

        /// <summary>Why the runs stopped before the number asked for (<see cref="RunRoom"/>), or null.</summary>
        public string? Stopped { get; init; }
    }

    /// <summary>Runs the benchmark; returns the exit code (0 when every load was bit-exact).</summary>
    public static async Task<int> RunAsync(Options o, CliOutput output)
    {
        if (o.Layout is not ("sharded" or "replicated")) throw new ArgumentException($"--layout '{o.Layout}': accepted values are sharded, replicated");
        if (o.Ranks < 1) throw new ArgumentException("--ranks must be at least 1");
        if (o.Runs < 1) throw new ArgumentException("--runs must be at least 1");
        if (o.Tier == "memory") return await MemoryBench.RunAsync(o, output);
        if (!BlobStores.IsDirectory(o.Dir)) return await ObjectBench.RunAsync(o, output);
        var model = new SyntheticModel(o.SizeMb, o.Tensors, o.Layout, seed: 1);
        var ckptDir = Path.Combine(o.Dir, "actorckpt");
        var rawDir = Path.Combine(o.Dir, "raw");
        // A previous bench's output goes before anything is measured. Within the bench nothing is
        // deleted on a disk (writing into blocks a delete has just freed is several times faster
        // than into new ones); in memory each run deletes its predecessors' (RunRoom.FreeEarlierRunsAsync).
        BenchFolders.Clear(o.Dir, "actorckpt", "raw");
        Directory.CreateDirectory(rawDir);
        var fs = MountedFileSystem.Of(rawDir);

        var m = o.Nodes > 1 ? await OnNodesAsync(o, ckptDir, rawDir, fs.Type) : await InProcessAsync(o, model, ckptDir, rawDir, fs.Type);
        using var raw = m.Raw;
        var runs = m.Runs;
        TimeSpan MedianOf(Func<Run, TimeSpan> figure) => TimeSpan.FromSeconds(BenchTargets.Median(runs.Select(r => (double?)figure(r).TotalSeconds))!.Value);
        double? MedianOfOptional(Func<Run, TimeSpan?> figure) => BenchTargets.Median(runs.Select(r => figure(r) is { } t ? S(t) : (double?)null));
        long? MedianBytes(Func<Run, long?> figure) => BenchTargets.Median(runs.Select(r => (double?)figure(r))) is { } b ? (long)b : null;
        var exact = runs.All(r => r.Exact);
        var (staged, asyncSave, save, load, rawWrite, rawRead) =
            (MedianOf(r => r.Staged), MedianOf(r => r.AsyncSave), MedianOf(r => r.Save), MedianOf(r => r.Load), MedianOf(r => r.RawWrite), MedianOf(r => r.RawRead));
        var memcpy = MedianOfOptional(r => r.Memcpy);
        var ratios = BenchTargets.Ratios.ToDictionary(k => k, k => BenchTargets.Median(runs.Select(r => r.Ratios[k])));
        var targets = BenchTargets.For(fs.IsMemory, o.Layout);
        var met = BenchTargets.Met(targets, ratios);

        var where = o.Nodes > 1 ? $" on {o.Nodes} nodes ({o.Placement})" : "";
        var medians = runs.Count > 1 ? $" (medians of {runs.Count} runs)" : "";
        output.Line($"actorckpt{where}: {model.Bytes} bytes in {m.Files} files on {fs.Type} ({fs.Device}), bit-exact {(exact ? "yes" : "no")}{medians}");
        if (m.Stopped is { } stopped) output.Line("  stopped early: " + stopped);
        if (runs.Count > 1)
            for (var i = 0; i < runs.Count; i++)
                output.Line($"  run {i + 1}: " + string.Join(", ", runs[i].Figures().Where(f => f.Value is double).Select(f => $"{f.Key} {Format(f.Value)}")));
        output.Line($"  first save {S(m.FirstSave)} s; async save: staged {S(staged)} s, committed {S(asyncSave)} s" +
                    (memcpy is { } copy ? $"; {MedianBytes(r => r.BytesStaged)} bytes staged, a memcpy of as many {copy} s" : ""));
        if (MedianOfOptional(r => r.SyncSave) is { } sync)
            output.Line($"  save in place {sync} s, peak memory growth {MedianBytes(r => r.SavePeakGrowth) / (1 << 20)} MiB");
        output.Line($"  load {S(load)} s" + (m.FirstLoad is { } first ? $" (first in the process {S(first)} s)" : "") +
                    (MedianOfOptional(r => r.ColdLoad) is { } cold ? $", cold {cold} s, resharded onto {o.Ranks + 1} ranks {MedianOfOptional(r => r.ReshardLoad)} s" : ""));
        output.Line($"raw ({raw.Files} files, {raw.Bytes} bytes, {raw.Threads} threads, {fs.Type}): write+fsync {S(rawWrite)} s, read {S(rawRead)} s");
        output.Line($"file writes {(KernelAccess.Straight ? "straight from tensors" : "through a pooled buffer")}" + (KernelAccess.Probe is { } p
            ? $" (probe, 32 MiB: straight {p.StraightWriteSeconds * 1e3:0.0} ms, copied {p.CopiedWriteSeconds * 1e3:0.0} ms)"
            : ""));
        output.Line("targets (" + (fs.IsMemory ? "memory" : "disk") + "): " + string.Join(", ", BenchTargets.Ratios.Where(k => targets[k] is not null)
            .Select(k => $"{k} {Format(ratios[k])} <= {Format(targets[k])} {(met[k] switch { true => "met", false => "MISSED", null => "not measured" })}")));
        var report = new Dictionary<string, object?>
        {
            ["layout"] = o.Layout,
            ["ranks"] = o.Ranks,
            ["tensors"] = o.Tensors,
            ["nodes"] = o.Nodes,
            ["bytes"] = model.Bytes,
            ["files"] = m.Files,
            ["filesystem"] = fs.Type,
            ["filesystem_device"] = fs.Device,
            // Whether this process's file writes copied through a buffer, and what the probe that chose it timed (32 MiB each way).
            ["copy_writes"] = !KernelAccess.Straight,
            ["kernel_access_probe_s"] = KernelAccess.Probe is { } probe
                ? new Dictionary<string, double> { ["straight_write"] = Math.Round(probe.StraightWriteSeconds, 5), ["copied_write"] = Math.Round(probe.CopiedWriteSeconds, 5) }
                : null,
            ["first_save_s"] = S(m.FirstSave),
            ["staged_s"] = S(staged),
            ["async_save_s"] = S(asyncSave),
            ["memcpy_s"] = memcpy,
            ["staged_bytes"] = MedianBytes(r => r.BytesStaged),
            ["save_s"] = S(save),
            ["save_peak_growth_bytes"] = MedianBytes(r => r.SavePeakGrowth),
            ["load_s"] = S(load),
            ["first_load_s"] = m.FirstLoad is { } fl ? S(fl) : null,
            // Issue 16's target: a fresh process's first save and first load within 0.2 s of the
            // steady ones (the async save, the warm load) for the same state.
            ["first_save_gap_s"] = S(m.FirstSave - asyncSave),
            ["first_load_gap_s"] = m.FirstLoad is { } fg ? S(fg - load) : null,
            ["first_gap_target_s"] = 0.2,
            ["load_cold_s"] = MedianOfOptional(r => r.ColdLoad),
            ["load_reshard_s"] = MedianOfOptional(r => r.ReshardLoad),
            ["reshard_ranks"] = runs[0].ReshardLoad is null ? null : o.Ranks + 1,
            ["raw_write_s"] = S(rawWrite),
            ["raw_read_s"] = S(rawRead),
            ["raw_files"] = raw.Files,
            ["raw_bytes"] = raw.Bytes,
            ["raw_threads"] = raw.Threads,
        };
        foreach (var (k, v) in ratios) report[k] = v;
        report["targets"] = targets;
        report["targets_met"] = met;
        report["bit_exact"] = exact;
        report["runs"] = runs.Select(r => r.Figures()).ToArray();
        report["runs_requested"] = o.Runs;
        report["stopped_early"] = m.Stopped;
        if (m.BytesByNode is not null)
        {
            report["placement"] = o.Placement;
            report["bytes_by_node"] = m.BytesByNode;
            double? Median(Func<Run, double?> figure) => BenchTargets.Median(runs.Select(figure));
            report["local_save_s"] = MedianOfOptional(r => r.LocalSave);
            report["spread_save_s"] = S(asyncSave);
            report["cross_node_bytes"] = MedianBytes(r => r.CrossBytes);
            report["transfer_gbps"] = Median(r => r.TransferGbps);
            report["transfer_span_gbps"] = Median(r => r.TransferSpanGbps);
            report["socket_baseline_gbps"] = Median(r => r.SocketGbps);
            report["channel_baseline_gbps"] = Median(r => r.ChannelGbps);
            report["channel_over_socket"] = BenchTargets.Median(runs.Select(r => r.ChannelGbps is { } c && r.SocketGbps is { } sg && sg > 0 ? c / sg : (double?)null)) is { } cs ? Math.Round(cs, 3) : null;
            report["cores"] = Environment.ProcessorCount;
            report["local_save_cpu_s"] = Median(r => r.Cpu.LocalSave);
            report["spread_save_cpu_s"] = Median(r => r.Cpu.SpreadSave);
            report["socket_cpu_s"] = Median(r => r.Cpu.Socket);
            report["channel_cpu_s"] = Median(r => r.Cpu.Channel);
            report["spread_over_local_floor"] = Median(r => r.SpreadFloorOverLocal);
            report["cluster_load_s"] = S(load);
            report["cluster_load_reader_s"] = MedianOfOptional(r => r.ReaderLoad);
            var channel = ChannelTargets.All.ToDictionary(t => t.Ratio, t => Median(r => r.ChannelRatios[t.Ratio]));
            foreach (var (k, v) in channel) report[k] = v;
            report["channel_targets"] = ChannelTargets.Describe(ChannelTargets.All);
            report["channel_targets_met"] = ChannelTargets.Met(channel);
            output.Line($"channel: {report["cross_node_bytes"]} bytes across nodes at {Format(report["transfer_gbps"])} GB/s (a plain socket {Format(report["socket_baseline_gbps"])} GB/s, the channel memory to memory {Format(report["channel_baseline_gbps"])} GB/s); " +
                        $"save local {Format(report["local_save_s"])} s, spread {Format(report["spread_save_s"])} s; load shared {Format(report["cluster_load_s"])} s, through readers {Format(report["cluster_load_reader_s"])} s");
            output.Line($"CPU of the node processes on {Environment.ProcessorCount} cores: local save {Format(report["local_save_cpu_s"])} s, spread save {Format(report["spread_save_cpu_s"])} s, " +
                        $"socket copy {Format(report["socket_cpu_s"])} s, channel copy {Format(report["channel_cpu_s"])} s; " +
                        (report["spread_over_local_floor"] is null
                            ? $"no floor for spread_over_local (the local save took under {Run.FloorFrom.TotalSeconds} s: too few 10 ms CPU ticks to bound it)"
                            : $"so spread_over_local cannot be below {Format(report["spread_over_local_floor"])} here"));
            output.Line("channel targets: " + string.Join(", ", ChannelTargets.All.Select(t =>
                $"{t.Ratio} {Format(channel[t.Ratio])} {(t.AtLeast ? ">=" : "<=")} {Format(t.Bound)} {(ChannelTargets.Met(channel)[t.Ratio] switch { true => "met", false => "MISSED", null => "not measured" })}")));
        }
        // Kept for inspection; on tmpfs they hold memory until removed (the next bench over --dir removes them first).
        var left = new[] { ckptDir, rawDir }.Where(Directory.Exists)
            .Sum(d => new DirectoryInfo(d).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length));
        report["left_bytes"] = left;
        output.Line($"left for inspection: {Sizes.Format(left)} in {ckptDir} and {rawDir}" +
                    (fs.IsMemory ? $" ({fs.Type}: memory until removed)" : "") + "; the next bench over the same --dir removes them first");
        output.Report(report);
        return exact ? 0 : 1;
    }

    private static string Format(object? v) => v is double d ? d.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture) : v?.ToString() ?? "-";

    private static double Ratio(TimeSpan a, TimeSpan b) => Math.Round(a / b, 3);

    private static double S(TimeSpan t) => CliOutput.Seconds(t);

    /// <summary>
    /// Ranks in this process: a first (cold) save (step 1) and a first load of it, then each run:
    /// an async save, a save in place and the raw write (in the reverse order on odd runs; steps
    /// 2 + 2i and 3 + 2i in the order they run), a memcpy, and three loads of the save in place
    /// and the raw read (the raw read first on odd runs).
    /// </summary>
    private static async Task<Measured> InProcessAsync(Options o, SyntheticModel model, string ckptDir, string rawDir, string fileSystem)
    {
        var states = model.BuildStates(o.Ranks, step: 1);
        RawFiles? raw = null;
        try
        {
            await using var ckpt = Checkpointer.Start(ckptDir, o.Hocon);
            // The first save pays for fresh staging buffers and JIT; a training loop saves again
            // and again, so the later saves (same state, warm pool) are the ones reported.
            var (_, coldSaved, _) = await SaveAsync(ckpt, 1, states);
            // As with saves, the first load in a process pays for JIT; the loads measured follow it.
            var (firstLoad, firstExact) = await LoadAsync(ckpt, model, o.Ranks, o.Ranks, dropCache: null, step: 1);
            // The raw files are the save's: as many, as long, grouped by writer; their buffers are
            // allocated and filled now, before any clock.
            raw = RawFiles.Like(ckpt.Store.ReadMetadata(1));
            var runs = new List<Run>();
            long lastStep = 1;
            string? stopped = null;
            for (var i = 0; i < o.Runs; i++)
            {
                if (i > 0 && RunRoom.InMemory(fileSystem)) await RunRoom.FreeEarlierRunsAsync(keep => ckpt.CollectGarbageAsync(NodeProcessCluster.Patience, keep), rawDir);
                if (RunRoom.Refusal(fileSystem, model.Bytes, RunRoom.AvailableBytes(), i, o.Runs) is { } why)
                {
                    if (i == 0) throw new ArgumentException(why);
                    stopped = why;
                    break;
                }
                // Odd runs reverse the order of the writes (raw, sync, async instead of async, sync,
                // raw): on this machine whichever writes first into memory or blocks not used for
                // a while can be several times slower, and the ratios compare neighbours.
                var rawFirst = i % 2 == 1;
                var (asyncStep, syncStep) = rawFirst ? (3 + 2L * i, 2 + 2L * i) : (2 + 2L * i, 3 + 2L * i);
                var rawRun = Path.Combine(rawDir, $"run-{i + 1}");
                var rawWrite = rawFirst ? raw.Write(rawRun) : TimeSpan.Zero;
                (TimeSpan Elapsed, long Growth) syncSave = default;
                if (rawFirst) syncSave = await SaveInPlaceAsync(ckpt, syncStep, states);
                var (staged, asyncSaved, stagedBytes) = await SaveAsync(ckpt, asyncStep, states);
                if (!rawFirst) syncSave = await SaveInPlaceAsync(ckpt, syncStep, states);
                var (syncSaved, growth) = syncSave;
                if (!rawFirst) rawWrite = raw.Write(rawRun);
                var memcpy = Memcpy(states, stagedBytes);
                var rawRead = rawFirst ? raw.Read(rawRun) : TimeSpan.Zero;
                var (load, exact) = await LoadAsync(ckpt, model, o.Ranks, o.Ranks, dropCache: null, step: syncStep);
                if (!rawFirst) rawRead = raw.Read(rawRun);
                // The resharded load runs in the same cache state as the warm one it is compared with:
                // the first load after a cold one runs up to 1.7x slower, whatever its layout.
                var (reshard, reshardExact) = await LoadAsync(ckpt, model, o.Ranks + 1, o.Ranks, dropCache: null, step: syncStep);
                var (cold, coldExact) = await LoadAsync(ckpt, model, o.Ranks, o.Ranks, dropCache: Path.Combine(ckptDir, CheckpointLayout.StepDirectory(syncStep)), step: syncStep);
                runs.Add(new Run(staged, asyncSaved, load, rawWrite, rawRead, firstExact && exact && coldExact && reshardExact)
                {
                    SyncSave = syncSaved, Memcpy = memcpy, BytesStaged = stagedBytes.Sum(), SavePeakGrowth = growth, ColdLoad = cold, ReshardLoad = reshard,
                });
                lastStep = syncStep;
            }
            return new Measured(coldSaved, firstLoad, ckpt.Store.ReadMetadata(lastStep).Files.Count, runs, raw) { Stopped = stopped };
        }
        catch
        {
            raw?.Dispose();
            throw;
        }
        finally
        {
            SyntheticModel.Dispose(states);
        }
    }

    /// <summary>A synchronous save in place: its time and the process's peak memory growth meanwhile.</summary>
    private static async Task<(TimeSpan Elapsed, long Growth)> SaveInPlaceAsync(Checkpointer ckpt, long step, IReadOnlyList<RankState> states)
    {
        // Reset first, then read the baseline: resident memory can shrink in between (the GC
        // and malloc return pages on their own threads), and a baseline taken before the reset
        // then lies above the new high-water mark. The kernel's counters are approximate too,
        // so a save that grew nothing may still read a few pages below its baseline: that is
        // no growth.
        ProcessMemory.ResetPeak();
        var before = ProcessMemory.ResidentBytes;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(states.Select(s => ckpt.SaveInPlaceAsync(step, s)));
        var elapsed = clock.Elapsed;
        return (elapsed, Math.Max(0, ProcessMemory.PeakBytes - before));
    }

    /// <summary>
    /// Loads <paramref name="step"/> on <paramref name="ranks"/> ranks into zeroed tensors allocated
    /// before the clock starts, after dropping <paramref name="dropCache"/> from the page cache.
    /// </summary>
    internal static async Task<(TimeSpan Elapsed, bool Exact)> LoadAsync(Checkpointer ckpt, SyntheticModel model, int ranks, int savedRanks, string? dropCache, long step)
    {
        var targets = model.EmptyStates(ranks);
        try
        {
            if (dropCache is not null) PageCache.Drop(dropCache);
            // Each load measured parses the metadata, as a process's first load of a step does.
            ckpt.Store.ForgetParsedMetadata();
            var clock = Stopwatch.StartNew();
            var results = await Task.WhenAll(targets.Select(t => ckpt.LoadAsync(t, step)));
            var elapsed = clock.Elapsed;
            return (elapsed, model.Check(targets, results, 1, savedRanks).Count == 0);
        }
        finally
        {
            SyntheticModel.Dispose(targets);
        }
    }

    /// <summary>
    /// A plain copy of as many bytes as each rank staged (<paramref name="sizes"/>, taken from its
    /// tensors in order; ranks in parallel as the shard actors stage) into host memory allocated
    /// and touched before the clock starts.
    /// </summary>
    private static unsafe TimeSpan Memcpy(IReadOnlyList<RankState> states, IReadOnlyList<long> sizes)
    {
        var buffers = sizes.Select(n => (IntPtr)NativeMemory.AlignedAlloc((nuint)Math.Max(1L, n), 4096)).ToArray();
        try
        {
            for (var r = 0; r < states.Count; r++)
                for (long at = 0; at < sizes[r]; at += 1 << 30)
                    new Span<byte>((byte*)buffers[r] + at, (int)Math.Min(sizes[r] - at, 1 << 30)).Fill(1);
            return Time(() => Parallel.For(0, states.Count, r =>
            {
                var target = (byte*)buffers[r];
                var left = sizes[r];
                foreach (var t in states[r].Tensors)
                {
                    if (left == 0) break;
                    var bytes = t.Tensor.bytes;
                    var n = (int)Math.Min(bytes.Length, left);
                    bytes[..n].CopyTo(new Span<byte>(target, n));
                    target += n;
                    left -= n;
                }
            }));
        }
        finally
        {
            foreach (var b in buffers) NativeMemory.AlignedFree((void*)b);
        }
    }

    /// <summary>
    /// Ranks on the training nodes of node-process clusters. First a cluster with local placement
    /// (its own directory) saves the state (step 1, cold, then step 2 + i each run): the local
    /// saves. Then a cluster with spread placement saves and loads step 1 cold (untimed), then each
    /// run: its save (step 2 + i) with what the bulk channel carried, a plain TCP copy of as many
    /// bytes from a training node to the writer-only node and the same copy through the channel
    /// (memory to memory), a warm load of the save from the shared directory and one through the
    /// readers of the nodes that wrote it, and the raw write and read (alternating with ours).
    /// <c>--placement</c> chooses whose files <c>bytes_by_node</c> counts.
    /// </summary>
    private static async Task<Measured> OnNodesAsync(Options o, string ckptDir, string rawDir, string fileSystem)
    {
        var model = new DemoModel(o.SizeMb, o.Tensors, o.Layout, 1);
        Task<DemoSaveDone[]> Save(NodeProcessCluster cluster, int[][] ranks, long step) => cluster.PreparedSaveAsync(step, ranks, o.Ranks, model);

        // In memory, as in one process, each run first deletes the steps before the newest (RunRoom.FreeEarlierRunsAsync).
        var inMemory = RunRoom.InMemory(fileSystem);
        var localSaves = new List<TimeSpan>();
        var localCpu = new List<double?>();
        Dictionary<string, long> localBytes;
        var localDir = Path.Combine(ckptDir, "local");
        await using (var local = await NodeProcessCluster.StartAsync(localDir, o.Nodes, "local", o.Hocon, command: "bench"))
        {
            var ranks = local.SplitRanks(o.Ranks);
            await Save(local, ranks, 1);
            for (var i = 0; i < o.Runs; i++)
            {
                if (inMemory) await RunRoom.FreeEarlierRunsAsync(keep => local.Node.Planner.Ask<GarbageCollected>(new CollectGarbage(keep), NodeProcessCluster.Patience), rawDir);
                localSaves.Add(TimeSpan.FromSeconds((await Save(local, ranks, 2 + i)).Max(s => s.SavedSeconds)));
                localCpu.Add(local.LastSaveCpuSeconds);
            }
            localBytes = ClusterDemoRunner.BytesByNode(local.Node.Store.ReadMetadata(1 + o.Runs));
        }
        if (inMemory) Directory.Delete(localDir, recursive: true);

        var spreadDir = Path.Combine(ckptDir, "spread");
        await using var cluster = await NodeProcessCluster.StartAsync(spreadDir, o.Nodes, "spread", o.Hocon, command: "bench");
        var split = cluster.SplitRanks(o.Ranks);
        var cold = await Save(cluster, split, 1);
        // Warm loads are measured: the processes' first loads of each kind (code compiled, buffers
        // first touched, the readers' channel connected) go to the cold step, untimed, as the cold save does.
        await cluster.AskAllAsync<DemoLoadDone>(n => new RunDemoLoad(1, split[n], o.Ranks, model, ThroughReaders: false));
        await cluster.AskAllAsync<DemoLoadDone>(n => new RunDemoLoad(1, split[n], o.Ranks, model, ThroughReaders: true));
        var raw = RawFiles.Like(cluster.Node.Store.ReadMetadata(1));
        try
        {
            var runs = new List<Run>();
            long step = 1;
            for (var i = 0; i < o.Runs; i++)
            {
                if (inMemory) await RunRoom.FreeEarlierRunsAsync(keep => cluster.Node.Planner.Ask<GarbageCollected>(new CollectGarbage(keep), NodeProcessCluster.Patience), rawDir);
                step = 2 + i;
                var rawRun = Path.Combine(rawDir, $"run-{i + 1}");
                var rawFirst = i % 2 == 1;
                var rawWrite = rawFirst ? raw.Write(rawRun) : TimeSpan.Zero;
                var warm = await Save(cluster, split, step);
                var spreadCpu = cluster.LastSaveCpuSeconds;
                if (!rawFirst) rawWrite = raw.Write(rawRun);
                var pushed = BulkActivity.Combine(warm.Select(s => s.Pushed ?? BulkActivity.None));
                // The two copies alternate which goes first, like the raw baseline.
                var (channel, channelCpu) = pushed.Bytes > 0 && rawFirst ? await WithCpu(cluster, () => ChannelCopyAsync(cluster, pushed.Bytes)) : (null, null);
                var (socket, socketCpu) = pushed.Bytes > 0 ? await WithCpu(cluster, () => SocketCopyAsync(cluster, pushed.Bytes)) : (null, null);
                if (pushed.Bytes > 0 && !rawFirst) (channel, channelCpu) = await WithCpu(cluster, () => ChannelCopyAsync(cluster, pushed.Bytes));
                var rawRead = rawFirst ? raw.Read(rawRun) : TimeSpan.Zero;
                var loads = await cluster.AskAllAsync<DemoLoadDone>(n => new RunDemoLoad(step, split[n], o.Ranks, model, ThroughReaders: false));
                var readerLoads = await cluster.AskAllAsync<DemoLoadDone>(n => new RunDemoLoad(step, split[n], o.Ranks, model, ThroughReaders: true));
                if (!rawFirst) rawRead = raw.Read(rawRun);
                var problems = loads.Concat(readerLoads).SelectMany(l => l.Problems).ToArray();
                runs.Add(new Run(TimeSpan.FromSeconds(warm.Max(s => s.StagedSeconds)), TimeSpan.FromSeconds(warm.Max(s => s.SavedSeconds)),
                    TimeSpan.FromSeconds(loads.Max(l => l.Seconds)), rawWrite, rawRead, problems.Length == 0)
                {
                    LocalSave = localSaves[i],
                    Cpu = (localCpu[i], spreadCpu, socketCpu, channelCpu),
                    CrossBytes = pushed.Bytes,
                    TransferGbps = pushed.Transfers > 0 ? Math.Round(pushed.GigabytesPerSecond, 3) : null,
                    TransferSpanGbps = pushed.Transfers > 0 ? Math.Round(pushed.SpanGigabytesPerSecond, 3) : null,
                    TransferBusy = pushed.Transfers > 0 ? TimeSpan.FromSeconds(pushed.BusySeconds) : null,
                    SocketGbps = socket is { } seconds ? Math.Round(pushed.Bytes / seconds / 1e9, 3) : null,
                    ChannelGbps = channel is { } channelSeconds ? Math.Round(pushed.Bytes / channelSeconds / 1e9, 3) : null,
                    ReaderLoad = TimeSpan.FromSeconds(readerLoads.Max(l => l.Seconds)),
                    LoadedBytes = readerLoads.Sum(l => l.BytesRead),
                });
                foreach (var p in problems.Take(3)) Console.Error.WriteLine($"bench: step {step}: {p}");
            }
            var metadata = cluster.Node.Store.ReadMetadata(step);
            return new Measured(TimeSpan.FromSeconds(cold.Max(s => s.SavedSeconds)), null, metadata.Files.Count, runs, raw)
            {
                BytesByNode = o.Placement == "spread" ? ClusterDemoRunner.BytesByNode(metadata) : localBytes,
            };
        }
        catch
        {
            raw.Dispose();
            throw;
        }
    }

    /// <summary>The seconds <paramref name="copy"/> reports, and the CPU seconds the node processes spent meanwhile.</summary>
    private static async Task<(double? Seconds, double? Cpu)> WithCpu(NodeProcessCluster cluster, Func<Task<double>> copy)
    {
        var before = cluster.CpuSeconds();
        var seconds = await copy();
        return (seconds, cluster.CpuSeconds() - before);
    }

    /// <summary>Seconds of a plain TCP copy of <paramref name="bytes"/> from the first training node to the writer-only node.</summary>
    private static async Task<double> SocketCopyAsync(NodeProcessCluster cluster, long bytes)
    {
        var sink = await cluster.WriterAgent.Ask<SocketSinkOpened>(new OpenSocketSink(bytes), NodeProcessCluster.Patience);
        var done = await cluster.Agents[0].Ask<SocketCopyDone>(new RunSocketCopy(sink.Endpoint, bytes), NodeProcessCluster.Patience);
        return done.Error is null ? done.Seconds : throw new IOException($"socket baseline: {done.Error}");
    }

    /// <summary>The same copy through the bulk channel, from the same node to the same node; its seconds.</summary>
    private static async Task<double> ChannelCopyAsync(NodeProcessCluster cluster, long bytes)
    {
        var sink = await cluster.WriterAgent.Ask<ChannelSinkOpened>(new OpenChannelSink(bytes), NodeProcessCluster.Patience);
        var done = await cluster.Agents[0].Ask<SocketCopyDone>(new RunChannelCopy(sink.Endpoint, sink.Token, bytes), NodeProcessCluster.Patience);
        return done.Error is null ? done.Seconds : throw new IOException($"channel baseline: {done.Error}");
    }

    /// <summary>An async save: the time until every rank is staged, until committed, and the bytes each rank staged.</summary>
    internal static async Task<(TimeSpan Staged, TimeSpan Saved, long[] BytesStaged)> SaveAsync(Checkpointer ckpt, long step, IReadOnlyList<RankState> states)
    {
        var clock = Stopwatch.StartNew();
        var handles = states.Select(s => ckpt.BeginSave(step, s)).ToArray();
        await Task.WhenAll(handles.Select(h => h.Staged));
        var staged = clock.Elapsed;
        await Task.WhenAll(handles.Select(h => h.Committed));
        return (staged, clock.Elapsed, handles.Select(h => h.BytesStaged).ToArray());
    }

    private static TimeSpan Time(Action action)
    {
        var clock = Stopwatch.StartNew();
        action();
        return clock.Elapsed;
    }
}

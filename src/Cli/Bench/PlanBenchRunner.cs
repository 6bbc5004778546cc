using System.Diagnostics;
using ActorCkpt.Cli;

namespace ActorCkpt.Cli.Bench;

/// <summary>
/// <c>actorckpt bench-plan</c>: planning at scale with simulated ranks and no tensors. Times the
/// global save plan of <c>--ranks</c> × <c>--items</c> items (validate, dedup, assign, and each
/// rank's share of the files), the same plan served from <see cref="SavePlanCache"/> when nothing
/// changed, one rank's fingerprint of its local plan, and the load planning of every rank of
/// <c>--load-ranks</c> against the saved layout (resharding), and the metadata document of that
/// layout written and read back. Medians of <c>--repeat</c> runs.
/// </summary>
internal static class PlanBenchRunner
{
    /// <summary>Options of <c>actorckpt bench-plan</c>; <paramref name="MetadataOnly"/> (<c>--only metadata</c>) times the metadata alone, on the layout of one save plan.</summary>
    public sealed record Options(int Ranks, int Items, int LoadRanks, int Writers, int Repeat, bool MetadataOnly = false);

    /// <summary>Issue 21's targets at 4,096 ranks × 256 items, each a figure of the report in ms, met when the figure is at most the target.</summary>
    private static readonly IReadOnlyDictionary<string, double> Targets = new Dictionary<string, double>
    {
        ["metadata_write_ms"] = 300, ["metadata_read_ms"] = 300, ["metadata_rank_read_ms"] = 30, ["global_plan_ms"] = 500, ["cached_plan_ms"] = 2,
    };

    /// <summary>Rows of a sharded tensor each rank holds.</summary>
    private const long RowsPerRank = 64;

    /// <summary>Runs the benchmark; returns 0.</summary>
    public static int Run(Options o, CliOutput output)
    {
        if (o.Ranks < 1 || o.Items < 1 || o.LoadRanks < 1 || o.Writers < 1 || o.Repeat < 1)
            throw new ArgumentException("--ranks, --items, --load-ranks, --writers and --repeat must be at least 1");
        var plans = Enumerable.Range(0, o.Ranks).Select(r => LocalPlan(r, o.Ranks, o.Items)).ToArray();
        var writerNodes = Enumerable.Repeat("local", o.Writers).ToArray();
        var rankNodes = Enumerable.Range(0, o.Ranks).ToDictionary(r => r, _ => "local");
        var settings = SavePlanSettings.Default;

        GlobalSavePlan plan = null!;
        if (o.MetadataOnly) return RunMetadataOnly(o, GlobalSavePlanner.Create(plans, writerNodes, rankNodes, settings, "bench"), output);
        // With what each plan allocates: on these machines a fresh page costs about 11 µs to fault in.
        var globalAllocated = new List<long>();
        var global = Runs(o.Repeat, () =>
        {
            var before = GC.GetTotalAllocatedBytes(precise: true);
            plan = GlobalSavePlanner.Create(plans, writerNodes, rankNodes, settings, "bench");
            for (var r = 0; r < o.Ranks; r++) plan.ForRank(r);
            globalAllocated.Add(GC.GetTotalAllocatedBytes(precise: true) - before);
        });

        var fingerprint = Runs(o.Repeat, () => SavePlanCache.Fingerprint(plans[0]));
        var fingerprints = plans.Select(SavePlanCache.Fingerprint).ToArray();
        var cache = new SavePlanCache();
        cache.GetOrCreate(plans, fingerprints, writerNodes, rankNodes, settings, "warm");
        var cached = Runs(o.Repeat, () =>
        {
            var hit = cache.GetOrCreate(plans, fingerprints, writerNodes, rankNodes, settings, "next");
            for (var r = 0; r < o.Ranks; r++) hit.ForRank(r);
        });

        var metadata = Saved(plan);
        byte[] document = null!;
        var jsonWrite = Runs(o.Repeat, () => document = MetadataJson.Serialize(metadata));
        var jsonRead = Runs(o.Repeat, () => MetadataJson.Deserialize(document, CheckpointLayout.MetadataFile));
        var jsonWriteCpu = CpuRuns(o.Repeat, () => MetadataJson.Serialize(metadata));
        var jsonReadCpu = CpuRuns(o.Repeat, () => MetadataJson.Deserialize(document, CheckpointLayout.MetadataFile));
        var binary = MetadataBench.Run(metadata, o.Repeat, r => Wanted(r, o.LoadRanks, o.Ranks, o.Items), o.LoadRanks);
        var loadPerRank = new List<double>();
        var load = Median(Runs(o.Repeat, () =>
        {
            for (var r = 0; r < o.LoadRanks; r++)
            {
                var clock = Stopwatch.StartNew();
                LoadPlanner.Plan(metadata, Wanted(r, o.LoadRanks, o.Ranks, o.Items), StrictHandling.RaiseAll);
                loadPerRank.Add(clock.Elapsed.TotalSeconds);
            }
        }));
        loadPerRank.Sort();

        output.Line($"save plan, {o.Ranks} ranks x {o.Items} items ({plan.Files.Count} files): {Ms(Median(global))} ms; from the cache: {Ms(Median(cached))} ms; one rank's fingerprint: {Ms(Median(fingerprint))} ms");
        output.Line($"load plans, {o.Ranks} -> {o.LoadRanks} ranks over {o.Items} tensors: {Ms(load)} ms for all ranks, " +
                    $"{Ms(loadPerRank[loadPerRank.Count / 2])} ms median per rank, {Ms(loadPerRank[^1])} ms slowest");
        output.Line($"metadata, {metadata.Tensors.Values.Sum(t => t.Chunks.Count)} chunks, binary (committed): {binary.Bytes / 1e6:F1} MB, " +
                    $"written to {binary.Directory} in {Ms(Median(binary.Write))} ms, read whole and validated in {Ms(Median(binary.Read))} ms " +
                    $"(decoded in {Ms(Median(binary.Decode))} ms), one rank's part in {Ms(Median(binary.RankRead))} ms");
        output.Line($"metadata, JSON (format version 1): {document.Length / 1e6:F1} MB, written in {Ms(Median(jsonWrite))} ms, read and validated in {Ms(Median(jsonRead))} ms");
        var figures = new Dictionary<string, double>
        {
            ["metadata_write_ms"] = Ms(Median(binary.Write)),
            ["metadata_read_ms"] = Ms(Median(binary.Read)),
            ["metadata_rank_read_ms"] = Ms(Median(binary.RankRead)),
            ["global_plan_ms"] = Ms(Median(global)),
            ["cached_plan_ms"] = Ms(Median(cached)),
        };
        output.Report(new Dictionary<string, object?>
        {
            ["ranks"] = o.Ranks,
            ["items"] = o.Items,
            ["load_ranks"] = o.LoadRanks,
            ["files"] = plan.Files.Count,
            ["global_plan_ms"] = figures["global_plan_ms"],
            ["global_plan_allocated_mb"] = Math.Round(globalAllocated.Order().ElementAt(globalAllocated.Count / 2) / 1e6, 1),
            ["cached_plan_ms"] = figures["cached_plan_ms"],
            ["fingerprint_ms"] = Ms(Median(fingerprint)),
            ["load_plans_all_ranks_ms"] = Ms(load),
            ["load_plan_median_rank_ms"] = Ms(loadPerRank[loadPerRank.Count / 2]),
            ["metadata_format"] = "binary",
            ["metadata_dir"] = binary.Directory,
            ["metadata_mb"] = Math.Round(binary.Bytes / 1e6, 1),
            ["metadata_bytes"] = binary.Bytes,
            ["metadata_write_ms"] = figures["metadata_write_ms"],
            ["metadata_read_ms"] = figures["metadata_read_ms"],
            ["metadata_decode_ms"] = Ms(Median(binary.Decode)),
            ["metadata_read_built_ms"] = Ms(Median(binary.ReadBuilt)),
            ["metadata_rank_read_ms"] = figures["metadata_rank_read_ms"],
            ["metadata_rank_read_ranks"] = binary.Ranks,
            ["metadata_rank_read_kb"] = Math.Round(binary.RankBytes / 1e3, 1),
            ["metadata_json_mb"] = Math.Round(document.Length / 1e6, 1),
            ["metadata_json_bytes"] = document.Length,
            ["metadata_json_write_ms"] = Ms(Median(jsonWrite)),
            ["metadata_json_read_ms"] = Ms(Median(jsonRead)),
            ["cpu_ms"] = new Dictionary<string, object?>
            {
                ["metadata_write"] = Ms(Median(binary.WriteCpu)),
                ["metadata_read"] = Ms(Median(binary.ReadCpu)),
                ["metadata_rank_read"] = Ms(Median(binary.RankReadCpu)),
                ["metadata_json_write"] = Ms(Median(jsonWriteCpu)),
                ["metadata_json_read"] = Ms(Median(jsonReadCpu)),
            },
            ["runs_ms"] = new Dictionary<string, object?>
            {
                ["global_plan"] = global.Select(Ms).ToArray(),
                ["cached_plan"] = cached.Select(Ms).ToArray(),
                ["metadata_write"] = binary.Write.Select(Ms).ToArray(),
                ["metadata_read"] = binary.Read.Select(Ms).ToArray(),
                ["metadata_read_split"] = Split(binary.ReadSplit),
                ["metadata_read_built"] = binary.ReadBuilt.Select(Ms).ToArray(),
                ["metadata_rank_read"] = binary.RankRead.Select(Ms).ToArray(),
                ["metadata_json_write"] = jsonWrite.Select(Ms).ToArray(),
                ["metadata_json_read"] = jsonRead.Select(Ms).ToArray(),
            },
            ["targets"] = Targets.ToDictionary(t => t.Key, t => (object?)t.Value),
            ["targets_met"] = Targets.ToDictionary(t => t.Key, t => (object?)(figures[t.Key] <= t.Value)),
        });
        return 0;
    }

    /// <summary>Each phase of the split whole reads (open, decode, validate, GC pauses), its runs in ms.</summary>
    private static Dictionary<string, object?> Split(MetadataBench.ReadSplit[] runs) => new()
    {
        ["open"] = runs.Select(r => Ms(r.Open)).ToArray(),
        ["decode"] = runs.Select(r => Ms(r.Decode)).ToArray(),
        ["validate"] = runs.Select(r => Ms(r.Validate)).ToArray(),
        ["gc_pause"] = runs.Select(r => Ms(r.GcPause)).ToArray(),
        ["decode_allocated_mb"] = runs.Select(r => Math.Round(r.DecodeAllocated / 1e6, 1)).ToArray(),
        ["validate_allocated_mb"] = runs.Select(r => Math.Round(r.ValidateAllocated / 1e6, 1)).ToArray(),
    };

    /// <summary><c>--only metadata</c>: the binary metadata's figures (as in the full report) and nothing else.</summary>
    private static int RunMetadataOnly(Options o, GlobalSavePlan plan, CliOutput output)
    {
        var binary = MetadataBench.Run(Saved(plan), o.Repeat, r => Wanted(r, o.LoadRanks, o.Ranks, o.Items), o.LoadRanks);
        output.Line($"metadata, binary (committed): {binary.Bytes / 1e6:F1} MB, written in {Ms(Median(binary.Write))} ms, read whole and validated in " +
                    $"{Ms(Median(binary.Read))} ms (decoded in {Ms(Median(binary.Decode))} ms), one rank's part in {Ms(Median(binary.RankRead))} ms");
        output.Report(new Dictionary<string, object?>
        {
            ["metadata_bytes"] = binary.Bytes,
            ["metadata_write_ms"] = Ms(Median(binary.Write)),
            ["metadata_read_ms"] = Ms(Median(binary.Read)),
            ["metadata_decode_ms"] = Ms(Median(binary.Decode)),
            ["metadata_read_built_ms"] = Ms(Median(binary.ReadBuilt)),
            ["metadata_rank_read_ms"] = Ms(Median(binary.RankRead)),
            ["cpu_ms"] = new Dictionary<string, object?>
            {
                ["metadata_write"] = Ms(Median(binary.WriteCpu)),
                ["metadata_read"] = Ms(Median(binary.ReadCpu)),
                ["metadata_rank_read"] = Ms(Median(binary.RankReadCpu)),
            },
            ["runs_ms"] = new Dictionary<string, object?>
            {
                ["metadata_write"] = binary.Write.Select(Ms).ToArray(),
                ["metadata_read"] = binary.Read.Select(Ms).ToArray(),
                ["metadata_read_split"] = Split(binary.ReadSplit),
                ["metadata_read_built"] = binary.ReadBuilt.Select(Ms).ToArray(),
                ["metadata_rank_read"] = binary.RankRead.Select(Ms).ToArray(),
                ["metadata_write_cpu"] = binary.WriteCpu.Select(Ms).ToArray(),
                ["metadata_read_cpu"] = binary.ReadCpu.Select(Ms).ToArray(),
            },
        });
        return 0;
    }

    /// <summary>
    /// Rank <paramref name="rank"/>'s items: every fourth a replicated [1024] tensor, the others
    /// [ranks·64, 128] tensors sharded by rows, 64 rows per rank.
    /// </summary>
    private static LocalSavePlan LocalPlan(int rank, int world, int items)
    {
        var list = new WriteItem[items];
        for (var i = 0; i < items; i++)
            list[i] = i % 4 == 0
                ? WriteItem.ForTensor($"layers.{i}.norm", rank, i, DType.Float32, new long[] { 1024 }, TensorBox.Whole(new long[] { 1024 }))
                : WriteItem.ForTensor($"layers.{i}.weight", rank, i, DType.BFloat16, new[] { world * RowsPerRank, 128L },
                    new TensorBox(new[] { rank * RowsPerRank, 0L }, new[] { RowsPerRank, 128L }));
        return new LocalSavePlan(rank, world, list);
    }

    /// <summary>
    /// The metadata the plan's files would commit, with one made-up checksum per block: what every
    /// node parses before it loads.
    /// </summary>
    private static CheckpointMetadata Saved(GlobalSavePlan plan)
    {
        const int blockSize = 1 << 20;
        var chunks = new Dictionary<string, List<StoredChunk>>(StringComparer.Ordinal);
        var files = new List<DataFileMetadata>();
        ulong sum = 0x9E3779B97F4A7C15;
        foreach (var file in plan.Files)
        {
            long offset = 0;
            foreach (var item in file.Items)
            {
                if (!chunks.TryGetValue(item.Key, out var list)) chunks[item.Key] = list = new List<StoredChunk>();
                var checksums = new ulong[(item.ByteLength + blockSize - 1) / blockSize];
                for (var b = 0; b < checksums.Length; b++) checksums[b] = sum *= 0xBF58476D1CE4E5B9;
                list.Add(new StoredChunk(item.Box, item.StorageName, item.Rank, new StoredBytes(file.FileName, offset, item.ByteLength, blockSize, checksums)));
                offset += item.ByteLength;
            }
            files.Add(new DataFileMetadata(file.FileName, offset, file.Rank, file.WriterIndex, file.WriterNode));
        }
        var tensors = plan.Tensors.Values.ToDictionary(t => t.Key, t => new TensorMetadata(t.Key, t.DType, t.Shape, chunks[t.Key]), StringComparer.Ordinal);
        return new CheckpointMetadata(CheckpointMetadata.CurrentFormatVersion, 1, plan.WorldSize, DateTimeOffset.UnixEpoch, tensors,
            Array.Empty<ObjectMetadata>(), files);
    }

    /// <summary>What rank <paramref name="rank"/> of <paramref name="world"/> wants: its even share of each sharded tensor's rows, each replicated one whole.</summary>
    private static WantedChunk[] Wanted(int rank, int world, int savedRanks, int items)
    {
        var wanted = new WantedChunk[items];
        var rows = savedRanks * RowsPerRank;
        for (var i = 0; i < items; i++)
        {
            if (i % 4 == 0)
            {
                wanted[i] = new WantedChunk(i, $"layers.{i}.norm", DType.Float32, new long[] { 1024 }, TensorBox.Whole(new long[] { 1024 }));
                continue;
            }
            long start = rank * rows / world, end = (rank + 1) * rows / world;
            wanted[i] = new WantedChunk(i, $"layers.{i}.weight", DType.BFloat16, new[] { rows, 128L }, new TensorBox(new[] { start, 0L }, new[] { end - start, 128L }));
        }
        return wanted;
    }

    /// <summary>The times of <paramref name="repeat"/> runs of <paramref name="run"/>, in seconds, in the order they ran.</summary>
    internal static double[] Runs(int repeat, Action run)
    {
        var times = new double[repeat];
        for (var i = 0; i < repeat; i++)
        {
            var clock = Stopwatch.StartNew();
            run();
            times[i] = clock.Elapsed.TotalSeconds;
        }
        return times;
    }

    /// <summary>
    /// The process's CPU time (all its threads, the garbage collector's included) of <paramref name="repeat"/>
    /// runs of <paramref name="run"/>, in seconds: on a machine shared with other jobs the wall clock
    /// swings several-fold, the CPU a run costs much less.
    /// </summary>
    internal static double[] CpuRuns(int repeat, Action run)
    {
        var times = new double[repeat];
        var process = Process.GetCurrentProcess();
        for (var i = 0; i < repeat; i++)
        {
            process.Refresh();
            var before = process.TotalProcessorTime;
            run();
            process.Refresh();
            times[i] = (process.TotalProcessorTime - before).TotalSeconds;
        }
        return times;
    }

    /// <summary>The median of <paramref name="times"/>.</summary>
    internal static double Median(IReadOnlyList<double> times)
    {
        var sorted = times.Order().ToArray();
        return sorted[sorted.Length / 2];
    }

    internal static double Ms(double seconds) => Math.Round(seconds * 1000, 2);
}

using System.Diagnostics;
using ActorCkpt.Actors;
using ActorCkpt.Host.Cli;
using ActorCkpt.Host.Demo;

namespace ActorCkpt.Host.Bench;

/// <summary>
/// <c>actorckpt bench</c>: saves (a first, cold one, then the measured one) and one load of a
/// synthetic float32 model through ActorCkpt, in this process or across node processes
/// (<c>--nodes</c>), and in the same run the raw baseline: the same bytes written as one plain
/// file per rank (sequential, fsynced, ranks in parallel) and read back. Measurement only.
/// </summary>
public static class BenchRunner
{
    /// <summary>Options of <c>actorckpt bench</c>.</summary>
    public sealed record Options(string Dir, long SizeMb, int Tensors, int Ranks, string Layout, string? Hocon, int Nodes = 1, string Placement = "local");

    /// <summary>What one ActorCkpt run measured.</summary>
    private sealed record Measured(TimeSpan FirstSave, TimeSpan Staged, TimeSpan Save, TimeSpan Load, bool Exact, Dictionary<string, long>? BytesByNode);

    /// <summary>Runs the benchmark; returns the exit code (0 when the load was bit-exact).</summary>
    public static async Task<int> RunAsync(Options o, CliOutput output)
    {
        if (o.Layout is not ("sharded" or "replicated")) throw new ArgumentException($"--layout '{o.Layout}': accepted values are sharded, replicated");
        if (o.Ranks < 1) throw new ArgumentException("--ranks must be at least 1");
        var model = new SyntheticModel(o.SizeMb, o.Tensors, o.Layout, seed: 1);
        var ckptDir = Path.Combine(o.Dir, "actorckpt");
        var rawDir = Path.Combine(o.Dir, "raw");
        foreach (var d in new[] { ckptDir, rawDir })
            if (Directory.Exists(d)) Directory.Delete(d, recursive: true);
        Directory.CreateDirectory(rawDir);

        var measured = o.Nodes > 1 ? await OnNodesAsync(o, ckptDir) : await InProcessAsync(o, model, ckptDir);
        var states = model.BuildStates(o.Ranks, step: 1);
        TimeSpan rawWrite, rawRead;
        try
        {
            (rawWrite, rawRead) = RawBaseline(states, o.Layout, rawDir);
        }
        finally
        {
            SyntheticModel.Dispose(states);
        }

        var where = o.Nodes > 1 ? $" on {o.Nodes} nodes ({o.Placement})" : "";
        output.Line($"actorckpt{where}: first save {CliOutput.Seconds(measured.FirstSave)} s, save {CliOutput.Seconds(measured.Save)} s " +
                    $"(staged {CliOutput.Seconds(measured.Staged)} s), load {CliOutput.Seconds(measured.Load)} s, {model.Bytes} bytes, bit-exact {measured.Exact}");
        output.Line($"raw: write+fsync {CliOutput.Seconds(rawWrite)} s, read {CliOutput.Seconds(rawRead)} s");
        var report = new Dictionary<string, object?>
        {
            ["layout"] = o.Layout,
            ["ranks"] = o.Ranks,
            ["tensors"] = o.Tensors,
            ["nodes"] = o.Nodes,
            ["bytes"] = model.Bytes,
            ["save_s"] = CliOutput.Seconds(measured.Save),
            ["first_save_s"] = CliOutput.Seconds(measured.FirstSave),
            ["staged_s"] = CliOutput.Seconds(measured.Staged),
            ["load_s"] = CliOutput.Seconds(measured.Load),
            ["raw_write_s"] = CliOutput.Seconds(rawWrite),
            ["raw_read_s"] = CliOutput.Seconds(rawRead),
            ["save_over_raw"] = Math.Round(measured.Save / rawWrite, 3),
            ["load_over_raw"] = Math.Round(measured.Load / rawRead, 3),
            ["bit_exact"] = measured.Exact,
        };
        if (measured.BytesByNode is not null)
        {
            report["placement"] = o.Placement;
            report["bytes_by_node"] = measured.BytesByNode;
        }
        output.Report(report);
        return measured.Exact ? 0 : 1;
    }

    /// <summary>Ranks in this process: the same state saved twice (cold, then measured), loaded once.</summary>
    private static async Task<Measured> InProcessAsync(Options o, SyntheticModel model, string ckptDir)
    {
        var states = model.BuildStates(o.Ranks, step: 1);
        var targets = model.EmptyStates(o.Ranks);
        try
        {
            await using var ckpt = Checkpointer.Start(ckptDir, o.Hocon);
            // The first save pays for fresh staging buffers and JIT; a training loop saves again
            // and again, so the second save (same state, warm pool) is the one reported.
            var (_, coldSaved) = await SaveAsync(ckpt, 1, states);
            var (staged, saved) = await SaveAsync(ckpt, 2, states);
            var clock = Stopwatch.StartNew();
            var results = await Task.WhenAll(targets.Select(t => ckpt.LoadAsync(t, 2)));
            var loaded = clock.Elapsed;
            return new Measured(coldSaved, staged, saved, loaded, model.Check(targets, results, 1, o.Ranks).Count == 0, null);
        }
        finally
        {
            SyntheticModel.Dispose(states);
            SyntheticModel.Dispose(targets);
        }
    }

    /// <summary>Ranks on the training nodes of a node-process cluster: each node saves and loads its ranks.</summary>
    private static async Task<Measured> OnNodesAsync(Options o, string ckptDir)
    {
        var model = new DemoModel(o.SizeMb, o.Tensors, o.Layout, 1);
        await using var cluster = await NodeProcessCluster.StartAsync(ckptDir, o.Nodes, o.Placement, o.Hocon);
        var ranks = cluster.SplitRanks(o.Ranks);
        var cold = await cluster.AskAllAsync<DemoSaveDone>(i => new RunDemoSave(1, ranks[i], o.Ranks, model));
        var warm = await cluster.AskAllAsync<DemoSaveDone>(i => new RunDemoSave(2, ranks[i], o.Ranks, model));
        if (cold.Concat(warm).FirstOrDefault(s => s.Error is not null) is { } failed)
            throw new CheckpointFailedException(cold.Contains(failed) ? 1 : 2, failed.Error!);
        var loads = await cluster.AskAllAsync<DemoLoadDone>(i => new RunDemoLoad(2, ranks[i], o.Ranks, model));
        return new Measured(
            TimeSpan.FromSeconds(cold.Max(s => s.SavedSeconds)), TimeSpan.FromSeconds(warm.Max(s => s.StagedSeconds)),
            TimeSpan.FromSeconds(warm.Max(s => s.SavedSeconds)), TimeSpan.FromSeconds(loads.Max(l => l.Seconds)),
            loads.All(l => l.Problems.Length == 0), ClusterDemoRunner.BytesByNode(cluster.Node.Store.ReadMetadata(2)));
    }

    private static async Task<(TimeSpan Staged, TimeSpan Saved)> SaveAsync(Checkpointer ckpt, long step, IReadOnlyList<RankState> states)
    {
        var clock = Stopwatch.StartNew();
        var handles = states.Select(s => ckpt.SaveAsync(step, s)).ToArray();
        await Task.WhenAll(handles.Select(h => h.Staged));
        var staged = clock.Elapsed;
        await Task.WhenAll(handles.Select(h => h.Committed));
        return (staged, clock.Elapsed);
    }

    /// <summary>
    /// The raw baseline: each tensor byte once (like the deduplicated save), one plain file per rank
    /// written sequentially and fsynced, ranks in parallel; then read back.
    /// </summary>
    private static (TimeSpan Write, TimeSpan Read) RawBaseline(IReadOnlyList<RankState> states, string layout, string rawDir)
    {
        var ranks = states.Count;
        var perRank = Enumerable.Range(0, ranks).Select(r => states[r].Tensors
            .Where((t, i) => layout == "sharded" || i % ranks == r)
            .Select(t => t.Tensor).ToArray()).ToArray();
        var write = Time(() => Parallel.For(0, ranks, r => RawWrite(Path.Combine(rawDir, $"rank-{r}.bin"), perRank[r])));
        var read = Time(() => Parallel.For(0, ranks, r => RawRead(Path.Combine(rawDir, $"rank-{r}.bin"))));
        return (write, read);
    }

    private static TimeSpan Time(Action action)
    {
        var clock = Stopwatch.StartNew();
        action();
        return clock.Elapsed;
    }

    private static void RawWrite(string path, IReadOnlyList<TorchSharp.torch.Tensor> tensors)
    {
        using var handle = File.OpenHandle(path, FileMode.Create, FileAccess.Write);
        long offset = 0;
        foreach (var t in tensors)
        {
            RandomAccess.Write(handle, t.bytes, offset);
            offset += t.bytes.Length;
        }
        RandomAccess.FlushToDisk(handle);
    }

    private static void RawRead(string path)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        var buffer = new byte[8 << 20];
        long offset = 0;
        int n;
        while ((n = RandomAccess.Read(handle, buffer, offset)) > 0) offset += n;
    }
}

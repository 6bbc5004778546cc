using System.Diagnostics;
using ActorCkpt.Cli;
using TorchSharp;

namespace ActorCkpt.Cli.Demo;

/// <summary>
/// The main job: save successive checkpoints of a synthetic model through the actors, then load
/// the newest on another rank count and check it bit-exact (or, with --check, only load and check).
/// </summary>
internal static class DemoRunner
{
    /// <summary>Options of <c>actorckpt demo</c>.</summary>
    public sealed record Options(string Dir, int Ranks, int LoadRanks, long SizeMb, int Tensors, string Layout, int Steps, int Seed, bool Check, string? Hocon);

    /// <summary>Runs the demo; returns the exit code (0 only when bit-exact).</summary>
    public static async Task<int> RunAsync(Options o, CliOutput output)
    {
        if (o.Ranks < 1 || o.LoadRanks < 1 || o.Steps < 1)
            throw new ArgumentException("--ranks, --load-ranks and --steps must be at least 1");
        // Ctrl-C or SIGTERM: the demo stops after the save under way (its tensors are read until it
        // ends) or stops its load between reads, says so, and exits 130 or 143. Handled from here on:
        // the model's first tensors load TorchSharp, seconds on a busy machine, and a signal then ended
        // the demo without a word. Akka's own hook would stop the actor system under the save at once:
        // off, unless --config turns it on.
        using var signals = new StopSignals();
        var model = new SyntheticModel(o.SizeMb, o.Tensors, o.Layout, o.Seed);
        if (signals.Stopped) return Interrupted(signals, output, "before it began: nothing was saved or loaded");
        var report = new Dictionary<string, object?> { ["layout"] = o.Layout, ["ranks"] = o.Ranks, ["load_ranks"] = o.LoadRanks };
        if (o.Check && CatalogLock.WhyHeld(RootStore.Open(o.Dir, NodeConfig.Checked(o.Hocon))) is { } held)
        {
            // Only loading: a root a live job holds is read without its lock, as CheckpointReader reads it.
            output.Line($"{held}: loading read-only, without the lock");
            var reader = CheckpointReader.Open(o.Dir);
            try
            {
                return await CheckLatestAsync(o, model, reader.LatestStep, step => reader.ReadMetadata(step).TotalFileBytes,
                    (t, step, progress) => reader.LoadAsync(t, step, progress: progress, cancellationToken: signals.Token), report, output);
            }
            catch (OperationCanceledException) when (signals.Stopped)
            {
                return Interrupted(signals, output, DuringLoad);
            }
        }

        await using var ckpt = Checkpointer.Start(o.Dir, WithoutShutdownHook(o.Hocon));
        if (!o.Check)
        {
            // The newest of any tier: a root whose disk was lost goes on from its object tier's newest step.
            var first = DemoSteps.First(await ckpt.GetLatestStepAsync(), o.Steps, o.Dir);
            for (var step = first; step < first + o.Steps; step++)
            {
                if (signals.Stopped) return Interrupted(signals, output, $"before step {step}: the steps before it are committed");
                var (staged, saved, summary) = await SaveStepAsync(ckpt, model, o.Ranks, step, output);
                output.Line($"saved step {step}: {summary.Files} files, {summary.Bytes} bytes, staged in {CliOutput.Seconds(staged)} s, committed in {CliOutput.Seconds(saved)} s");
                report["staged_s"] = CliOutput.Seconds(staged);
                report["save_s"] = CliOutput.Seconds(saved);
            }
        }
        if (signals.Stopped) return Interrupted(signals, output, "after its saves, before its load");
        // The newest step of any tier (a memory step, with the memory tier on, has no directory of its own).
        try
        {
            return await CheckLatestAsync(o, model, await ckpt.GetLatestStepAsync(), step => FileBytes(ckpt, step),
                (t, step, progress) => ckpt.LoadAsync(t, step, progress: progress, cancellationToken: signals.Token), report, output);
        }
        catch (OperationCanceledException) when (signals.Stopped)
        {
            return Interrupted(signals, output, DuringLoad);
        }
    }

    /// <summary><paramref name="hocon"/> (--config) with Akka's shutdown on signals off, unless it says otherwise; added last, so its line numbers stay.</summary>
    private static string WithoutShutdownHook(string? hocon)
    {
        const string key = "akka.coordinated-shutdown.run-by-clr-shutdown-hook";
        return !string.IsNullOrWhiteSpace(hocon) && Akka.Configuration.ConfigurationFactory.ParseString(hocon).HasPath(key) ? hocon : $"{hocon}\n{key} = off";
    }

    private const string DuringLoad = "during its load, which stopped between reads (the checkpoint is untouched)";

    /// <summary>Says where the demo stopped for a signal; the signal's exit.</summary>
    private static int Interrupted(StopSignals signals, CliOutput output, string where)
    {
        output.Failure($"demo interrupted {where}");
        return signals.ExitCode;
    }

    /// <summary>Loads the newest committed step on <c>--load-ranks</c> ranks and checks it bit-exact; returns the exit code.</summary>
    private static async Task<int> CheckLatestAsync(Options o, SyntheticModel model, long? latest, Func<long, long?> fileBytes,
        Func<RankState, long, IProgress<long>, Task<LoadResult>> load, Dictionary<string, object?> report, CliOutput output)
    {
        if (latest is null)
        {
            var none = $"no committed checkpoint in {o.Dir}" + ReaderSteps.MemoryOnly(RootStore.OpenCheckpoints(o.Dir, o.Hocon));
            output.Line(none);
            output.Failure(none);
            report["bit_exact"] = false;
            output.Report(report);
            return 1;
        }
        var targets = model.EmptyStates(o.LoadRanks);
        try
        {
            var clock = Stopwatch.StartNew();
            LoadResult[] results;
            using (var progress = output.Progress($"load step {latest}", targets.Sum(t => t.Tensors.Sum(e => e.Tensor.NumberOfElements * e.Tensor.ElementSize))))
                results = await Task.WhenAll(targets.Select(t => load(t, latest.Value, progress)));
            var loadTime = clock.Elapsed;
            var savedOn = results[0].SavedWorldSize;
            var problems = model.Check(targets, results, latest.Value, savedOn);
            foreach (var p in problems.Take(20)) output.Line("MISMATCH " + p);
            output.Line($"loaded step {latest} (saved on {savedOn} ranks{(results[0].Tier == StorageTier.Disk ? "" : $", from {results[0].Tier.ToString().ToLowerInvariant()}")}) on {o.LoadRanks} ranks in {CliOutput.Seconds(loadTime)} s: " +
                        (problems.Count == 0 ? "bit-exact" : $"{problems.Count} differences"));
            report["step"] = latest;
            report["bytes"] = fileBytes(latest.Value);
            report["load_s"] = CliOutput.Seconds(loadTime);
            report["bit_exact"] = problems.Count == 0;
            if (problems.Count > 0) output.Failure($"step {latest} loaded with {problems.Count} differences, the first: {problems[0]}");
            output.Report(report);
            return problems.Count == 0 ? 0 : 1;
        }
        finally
        {
            SyntheticModel.Dispose(targets);
        }
    }

    /// <summary>Bytes of the data files of <paramref name="step"/>: on disk, else its memory tier metadata's; null in another tier only.</summary>
    private static long? FileBytes(Checkpointer ckpt, long step)
    {
        if (ckpt.Store.IsCommitted(step)) return ckpt.Store.ReadMetadata(step).TotalFileBytes;
        var memory = ckpt.Store.MemorySteps();
        return memory.IsCommitted(step) ? memory.ReadMetadata(step).TotalFileBytes : null;
    }

    /// <summary>
    /// Saves one step on every rank. Once staged, the demo scribbles over its tensors, as a training
    /// step would: the checkpoint must still hold the values at the time of the save.
    /// </summary>
    private static async Task<(TimeSpan Staged, TimeSpan Saved, SaveResult Summary)> SaveStepAsync(
        Checkpointer ckpt, SyntheticModel model, int ranks, long step, CliOutput output)
    {
        var states = model.BuildStates(ranks, step);
        try
        {
            using var progress = output.Progress($"save step {step}", 0);
            var clock = Stopwatch.StartNew();
            var handles = states.Select(s => ckpt.BeginSave(step, s)).ToArray();
            Follow(handles, progress);
            await Task.WhenAll(handles.Select(h => h.Staged));
            var staged = clock.Elapsed;
            // One Scalar, held to the end: TorchSharp 0.107 keeps no reference to an implicit one while
            // libtorch reads it, so a GC may free it mid-call ("Expected false to be true … toBFloat16").
            using var seven = 7.ToScalar();
            foreach (var t in states.SelectMany(s => s.Tensors)) t.Tensor.fill_(seven);
            var summaries = await Task.WhenAll(handles.Select(h => h.Committed));
            return (staged, clock.Elapsed, summaries[0]);
        }
        finally
        {
            SyntheticModel.Dispose(states);
        }
    }

    /// <summary>Shows the bytes the ranks' files hold and have written in <paramref name="progress"/>, as the saves advance.</summary>
    private static void Follow(IReadOnlyList<SaveHandle> handles, CliProgress progress)
    {
        var seen = new Dictionary<SaveHandle, (long Total, long Written)>();
        void Update(SaveHandle h)
        {
            lock (seen)
            {
                var (total, written) = seen.GetValueOrDefault(h);
                var now = (h.BytesToWrite, h.BytesWritten);
                progress.AddTotal(now.BytesToWrite - total);
                progress.Report(now.BytesWritten - written);
                seen[h] = now;
            }
        }
        foreach (var h in handles)
        {
            h.Progressed += Update;
            Update(h);
        }
    }
}

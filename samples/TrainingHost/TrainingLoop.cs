using ActorCkpt;
using TorchSharp;
using static TorchSharp.torch;

namespace TrainingHost;

/// <summary>Global entry of the checkpoint: how far training got, and the global batch's loss of every step so far.</summary>
internal sealed record TrainerProgress(long Step, List<string> GlobalLosses);

/// <summary>Per-rank entry: how many table rows this rank's data loader has handed out.</summary>
internal sealed record LoaderPosition(long RowsDrawn);

/// <summary>
/// One rank's training loop: resume from the newest committed checkpoint if there is one, train to
/// the last step with a checkpoint every few steps (started asynchronously: the loop goes on while
/// the write proceeds), and report what it computed. It needs only an <see cref="ICheckpointer"/>:
/// the host's (<see cref="Trainer"/>), or one a test gives it.
/// </summary>
internal sealed class TrainingLoop(RunOptions options, ICheckpointer checkpointer, Report report)
{
    /// <summary>How long a rank waits for all the others at a barrier (the cluster forming, the end of the run).</summary>
    private static readonly TimeSpan BarrierTimeout = TimeSpan.FromSeconds(90);

    /// <summary>Runs the rank to the end: resume or start fresh, train (or only load), then wait at the final barrier.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        var (rank, world) = (options.Rank, options.World);

        // Every rank in the cluster, and the planner found by all, before anything is loaded or saved:
        // a collective answered once all `world` ranks have asked.
        await checkpointer.IsQueueEmptyAsync(rank, world, BarrierTimeout, ct);
        report.Line($"ready {rank} {world}");

        using var model = new TinyModel(options.Seed, rank, world);
        using var optimizer = optim.Adam(model.parameters(), lr: 0.01);
        using var data = new SyntheticData(options.Seed);
        using var rankGenerator = data.RankGenerator(rank);
        var progress = new JsonState<TrainerProgress>("trainer", new TrainerProgress(0, new List<string>()), ObjectScope.Global);
        var loader = new JsonState<LoaderPosition>("data.loader", new LoaderPosition(0), ObjectScope.Rank);
        IStateful[] parts =
        [
            new ModuleState(model, TinyModel.ModelPrefix, model.Sharding),
            new OptimizerStateDict(optimizer, model, TinyModel.OptimizerPrefix, model.Sharding),
            new GeneratorState(rankGenerator, "data.rng", ObjectScope.Rank),
            progress,
            loader,
        ];

        var latest = await checkpointer.GetLatestStepAsync(ct);
        if (latest is { } step0)
        {
            var loaded = await checkpointer.LoadAsync(rank, world, parts, step0, cancellationToken: ct);
            if (progress.Value.Step != loaded.Step || progress.Value.GlobalLosses.Count != loaded.Step)
                throw new InvalidOperationException($"step {loaded.Step} holds the trainer progress of step {progress.Value.Step} ({progress.Value.GlobalLosses.Count} losses)");
            // A rank of the saved layout finds its loader where it left it; a rank the checkpoint has
            // no entry for (a resume on more ranks) would start its loader afresh.
            if (loader.Restored && loader.Value.RowsDrawn != loaded.Step * SyntheticData.RowsPerStep)
                throw new InvalidOperationException($"step {loaded.Step} holds a loader position of {loader.Value.RowsDrawn} rows on rank {rank}");
            report.Line($"resume {loaded.Step} {loaded.SavedWorldSize}");
            report.Line($"history {loaded.Step} {string.Join(",", progress.Value.GlobalLosses)}");
        }
        else
        {
            if (options.LoadOnly) throw new InvalidOperationException($"--load-only: {options.Root} has no committed step");
            report.Line("fresh");
        }

        if (options.LoadOnly)
        {
            report.State("loaded", progress.Value.Step, rank, world, parts, model.IsSharded);
            CompareWithReader(progress.Value.Step, parts, model.IsSharded);
        }
        else
        {
            await TrainAsync(model, optimizer, data, rankGenerator, progress, loader, parts, ct);
            report.Line($"params {rank} {Report.Hash(model)}");
        }

        // Nobody leaves while another rank still needs the cluster (its last save or load).
        await checkpointer.IsQueueEmptyAsync(rank, world, BarrierTimeout, ct);
        report.Line($"done {rank}");
    }

    /// <summary>
    /// Reads the step's whole sharded tensors with the read-only <see cref="CheckpointReader"/> (no
    /// cluster, no lock) and checks that this rank's loaded slice of each equals the slice it should
    /// hold, byte for byte.
    /// </summary>
    private void CompareWithReader(long step, IStateful[] parts, Func<string, bool> isSharded)
    {
        var state = new RankState(options.Rank, options.World);
        foreach (var part in parts) part.Save(state);
        var sharded = state.Tensors.Where(e => isSharded(e.Key)).ToList();
        var whole = CheckpointReader.Open(options.Root).LoadKeys(sharded.Select(e => e.Key), step);
        try
        {
            foreach (var entry in sharded)
            {
                using var expected = whole[entry.Key].narrow(0, entry.Box.Offsets[0], entry.Box.Lengths[0]).contiguous();
                using var actual = entry.Tensor.detach().contiguous();
                var same = expected.bytes.SequenceEqual(actual.bytes);
                report.Line($"reader-check {step} {entry.Key} {entry.Box.Offsets[0]} {entry.Box.Lengths[0]} {(same ? "equal" : "differ")}");
            }
        }
        finally
        {
            foreach (var t in whole.Values) t.Dispose();
        }
    }

    private async Task TrainAsync(TinyModel model, optim.Optimizer optimizer, SyntheticData data, Generator rankGenerator,
        JsonState<TrainerProgress> progress, JsonState<LoaderPosition> loader, IStateful[] parts, CancellationToken ct)
    {
        var (rank, world) = (options.Rank, options.World);
        SaveHandle? inFlight = null;
        for (var step = progress.Value.Step + 1; step <= options.Steps; step++)
        {
            var started = Environment.TickCount64;
            float globalLoss, localLoss;
            using (NewDisposeScope())
            {
                var (x, y) = data.GlobalBatch(step);
                var (rows, targets) = data.RankBatch(rankGenerator, model.TableShard, model.TableLength);
                // The MLP's gradient comes from the global batch alone, so its replicas stay identical;
                // the table's from this rank's rows alone.
                var global = nn.functional.mse_loss(model.Predict(x), y);
                var local = nn.functional.mse_loss(model.Rows(rows), targets);
                optimizer.zero_grad();
                (global + local).backward();
                CollectionFreeStep.Run(() => optimizer.step());
                globalLoss = global.item<float>();
                localLoss = local.item<float>();
            }
            progress.Value = new TrainerProgress(step, [.. progress.Value.GlobalLosses, Report.Bits(globalLoss)]);
            loader.Value = new LoaderPosition(loader.Value.RowsDrawn + SyntheticData.RowsPerStep);
            report.Line($"loss {step} {Report.Bits(globalLoss)} {Report.Bits(localLoss)} {Report.Text(globalLoss)} {Report.Text(localLoss)}");

            if (step % options.SaveEvery == 0 || step == options.Steps)
            {
                // One save in flight at a time: the previous one must have committed before the next starts.
                if (inFlight is not null) await inFlight;
                report.State("saved", step, rank, world, parts, model.IsSharded);
                // Not given ct: a save in flight when the host stops still commits (the host waits for it).
                inFlight = await checkpointer.StartSaveAsync(step, rank, world, parts);
                var handle = inFlight;
                report.Line($"staged {step}");
                _ = handle.Committed.ContinueWith(t => report.Line(t.IsCompletedSuccessfully
                    ? $"committed {handle.Step} {t.Result.Bytes} {t.Result.CommittedAfter.TotalMilliseconds:F0}ms"
                    : $"save-failed {handle.Step} {t.Exception?.GetBaseException().Message ?? "cancelled"}"), TaskScheduler.Default);
            }

            var rest = options.StepMilliseconds - (Environment.TickCount64 - started);
            if (rest > 0) await Task.Delay(TimeSpan.FromMilliseconds(rest), ct);
        }
        if (inFlight is not null) await inFlight;
    }
}

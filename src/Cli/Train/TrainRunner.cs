using System.Globalization;
using ActorCkpt.Cli;
using ActorCkpt.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TorchSharp;

namespace ActorCkpt.Cli.Train;

/// <summary>
/// <c>actorckpt train</c>: a small TorchSharp MLP trained data-parallel over <c>--ranks</c> ranks
/// (one tensor-parallel layer), checkpointed asynchronously through the <see cref="ICheckpointer"/>
/// a generic host provides; <c>--resume</c> continues from the newest committed checkpoint and
/// prints, step for step, the same losses as a run that was never stopped.
/// </summary>
internal static class TrainRunner
{
    /// <summary>Samples per step, over all ranks.</summary>
    public const int GlobalBatch = 32;

    /// <summary>Options of <c>actorckpt train</c>.</summary>
    public sealed record Options(string Dir, int Ranks, int Steps, int CkptEvery, int Seed, bool Resume, string? HoconFile, bool Create = false, bool Verbose = false);

    /// <summary>Runs the training; returns the exit code (0 when every save committed).</summary>
    public static async Task<int> RunAsync(Options o, CliOutput output)
    {
        if (o.Ranks < 1 || o.Ranks > GlobalBatch)
            throw new ArgumentException($"--ranks {o.Ranks}: between 1 and {GlobalBatch} (the global batch) ranks");
        if (o.Steps < 1 || o.CkptEvery < 1) throw new ArgumentException("--steps and --ckpt-every must be at least 1");
        // Named as the tool's flag: the host reads the file again as ActorCkptOptions.HoconFile.
        if (o.HoconFile is not null)
            UserHocon.ReadFile(o.HoconFile, "--config");

        var builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = Environment.CurrentDirectory });
        builder.Configuration.AddJsonFile(Path.Combine(Environment.CurrentDirectory, "appsettings.json"), optional: true);
        // Akka's warnings and errors as every command prints them, under --config as there: one line each, a
        // cause as its type and message (the host's ILogger printed Akka's text with each cause's stack trace).
        ActorCkptServiceCollectionExtensions.AddActorCkptUnder(builder.Services, builder.Configuration.GetSection("ActorCkpt"), c =>
        {
            c.Root = o.Dir;
            if (o.HoconFile is not null) c.HoconFile = o.HoconFile;
            if (o.Create) c.Settings["object-store.create-missing"] = "on";
        }, underOptions: CliLogger.Hocon(o.Verbose));
        // The host's own warnings and errors on stderr, apart from the run's report on stdout.
        builder.Logging.SetMinimumLevel(LogLevel.Warning).AddSimpleConsole(c => c.SingleLine = true)
            // A failed start is rethrown and reported in one line; the hosts' own logs of it would repeat it with the stack trace.
            .AddFilter("Microsoft.Extensions.Hosting", LogLevel.None).AddFilter("Akka.Hosting.AkkaHostedService", LogLevel.None);
        builder.Logging.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(c => c.LogToStandardErrorThreshold = LogLevel.Trace);
        using var host = builder.Build();
        // Checked before the start: Akka.Hosting prints a failed start's stack trace on stdout itself.
        var options = host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<ActorCkpt.Hosting.ActorCkptOptions>>().Value;
        ActorCkptSettings.Create(options.ToConfig().WithFallback(NodeConfig.Node).WithFallback(ActorCkptConfig.Defaults));
        // Ctrl-C or SIGTERM (a preemption) stops the run between steps; the saves in flight end first.
        using var signals = new StopSignals();
        // Akka.Hosting writes a failed start's stack trace to the console itself (its issue 470), where
        // this run's report goes; the failure is rethrown and reported in one line (with --verbose, the trace).
        var console = Console.Out;
        Console.SetOut(TextWriter.Null);
        try
        {
            await host.StartAsync();
        }
        finally
        {
            Console.SetOut(console);
        }
        try
        {
            var exit = await TrainAsync(host.Services.GetRequiredService<ICheckpointer>(), o, output, signals.Token);
            return signals.Stopped ? signals.ExitCode : exit;
        }
        finally
        {
            await host.StopAsync();
        }
    }

    private static async Task<int> TrainAsync(ICheckpointer ckpt, Options o, CliOutput output, CancellationToken stop)
    {
        // One intra-op thread: the same sums in the same order on every run, for bit-exact resumes.
        torch.set_num_threads(1);
        using var data = new RegressionData(o.Seed);
        var loader = new ShuffledLoader(RegressionData.Samples, (ulong)o.Seed);
        var ranks = Enumerable.Range(0, o.Ranks).Select(r => new RankTrainer(r, o.Ranks, o.Seed, loader.State)).ToArray();
        try
        {
            torch.manual_seed(o.Seed);
            using (var whole = new RankModel(0, 1))
                foreach (var rank in ranks) rank.Model.CopyFrom(whole);

            var first = 1L;
            var report = new Dictionary<string, object?> { ["ranks"] = o.Ranks };
            if (o.Resume)
            {
                if (await ckpt.GetLatestStepAsync() is { } latest)
                {
                    var results = await Task.WhenAll(ranks.Select(r => ckpt.LoadAsync(r.Rank, o.Ranks, r.Parts, latest)));
                    // The data set is drawn from the seed, not saved: another seed would train the loaded model on other data.
                    if (ranks[0].Seed.Value != o.Seed)
                        throw new ArgumentException($"--seed {o.Seed}: the run in '{o.Dir}' was trained with --seed {ranks[0].Seed.Value} (step {latest}); resume it with that seed");
                    loader.Restore(ranks[0].Loader.Value);
                    first = ranks[0].Progress.Value.Iteration + 1;
                    output.Line($"resumed from step {latest} (saved on {results[0].SavedWorldSize} ranks)");
                    report["resumed_from"] = latest;
                    if (first > o.Steps) output.Line($"step {first - 1} is at or past --steps {o.Steps}: nothing to train");
                }
                else
                {
                    output.Line($"no committed checkpoint in {o.Dir}: starting at step 1");
                }
            }
            else if (await ckpt.GetLatestStepAsync() is { } existing)
            {
                // A second run from step 1 would commit its steps among the first run's (a clash fails, the rest mix).
                throw new ActorCkptException($"'{o.Dir}' holds the checkpoints of a run already (the newest is step {existing}): pass --resume to continue it, or give a --dir of its own");
            }

            // The crash tests' kill point after a step (actorckpt.fault-injection.kill-at, point "trained").
            var killAt = (await ((DeferredCheckpointer)ckpt).Ready).Settings.KillAt;
            var progress = ranks[0].Progress.Value;
            var flopsPerStep = 6.0 * GlobalBatch * (RankModel.Inputs * RankModel.Hidden + RankModel.Hidden * RankModel.ParallelWidth + RankModel.ParallelWidth);
            float loss = float.NaN;
            var last = first - 1;
            for (var step = first; step <= o.Steps && !stop.IsCancellationRequested; step++)
            {
                loss = TrainStep.Run(ranks, data, loader.Next(GlobalBatch));
                progress = new TrainingProgress(step, progress.ConsumedSamples + GlobalBatch, progress.FloatingPointOperations + flopsPerStep);
                output.Line($"step {step} loss {loss.ToString("R", CultureInfo.InvariantCulture)}");
                if (step % o.CkptEvery == 0) await SaveAsync(ckpt, ranks, step, o.Ranks, progress, loader.State);
                killAt.Reached("trained", step);
                last = step;
            }

            var outcomes = await ckpt.FinalizeAsync(blocking: true);
            var failed = outcomes.Where(x => x.Status != SaveStatus.Committed).ToArray();
            foreach (var f in failed) output.Line($"save of step {f.Step} on rank {f.Rank} {f.Status}: {f.Reason}");
            foreach (var s in outcomes.Where(x => x.Status == SaveStatus.Committed && x.Rank == 0).Select(x => x.Step).Order())
                output.Line($"checkpoint {s} committed");
            if (stop.IsCancellationRequested)
            {
                output.Failure($"train interrupted after step {last}: the saves in flight ended; the latest checkpoint is {(await ckpt.GetLatestStepAsync())?.ToString(CultureInfo.InvariantCulture) ?? "none"}");
                return 1;
            }
            // With an object tier, the job's last steps are in object storage before it exits.
            await ckpt.WaitForUploadsAsync();
            report["steps"] = o.Steps;
            // NaN when no step was trained (a resume at or past --steps), which JSON cannot hold.
            report["final_loss"] = float.IsNaN(loss) ? null : loss;
            report["consumed_samples"] = progress.ConsumedSamples;
            report["flops"] = progress.FloatingPointOperations;
            report["latest_checkpoint"] = await ckpt.GetLatestStepAsync();
            // A checkpoint is one save per rank: counted as checkpoints, and as the ranks' saves.
            var failedSteps = failed.Select(f => f.Step).Distinct().Count();
            report["failed_checkpoints"] = failedSteps;
            report["failed_saves"] = failed.Length;
            if (failed.Length > 0)
                output.Failure($"{failedSteps} of {outcomes.Select(x => x.Step).Distinct().Count()} checkpoints did not commit ({failed.Length} of {outcomes.Count} saves of their ranks); " +
                               $"the first: step {failed[0].Step} on rank {failed[0].Rank}: {failed[0].Reason}");
            output.Report(report);
            return failed.Length == 0 ? 0 : 1;
        }
        finally
        {
            foreach (var rank in ranks) rank.Dispose();
        }
    }

    private static async Task SaveAsync(ICheckpointer ckpt, RankTrainer[] ranks, long step, int world, TrainingProgress progress, DataLoaderState loaderState)
    {
        foreach (var rank in ranks)
        {
            rank.Progress.Value = progress;
            rank.Loader.Value = loaderState;
        }
        // The next step changes parameters and optimizer state in place: only the copy must be done.
        await Task.WhenAll(ranks.Select(r => ckpt.StartSaveAsync(step, r.Rank, world, r.Parts)));
    }
}

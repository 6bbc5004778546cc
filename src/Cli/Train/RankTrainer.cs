using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ActorCkpt.Cli.Train;

/// <summary>
/// What one rank of the demo holds: its model part, its AdamW optimizer (AMSGrad, so every Adam
/// state tensor is in play) and StepLR scheduler, its dropout generator (in step with every other
/// rank's, as a data-parallel RNG is), and its copies of the trainer's counters and the data
/// loader's position; and the parts of a checkpoint they make.
/// </summary>
internal sealed class RankTrainer : IDisposable
{
    private const double LearningRate = 5e-3;

    /// <summary>Rank <paramref name="rank"/> of <paramref name="worldSize"/>, with generators seeded from <paramref name="seed"/>.</summary>
    public RankTrainer(int rank, int worldSize, int seed, DataLoaderState loader)
    {
        Rank = rank;
        Model = new RankModel(rank, worldSize);
        Optimizer = optim.AdamW(Model.parameters(), lr: LearningRate, weight_decay: 0.01, amsgrad: true);
        Scheduler = optim.lr_scheduler.StepLR(Optimizer, step_size: 50, gamma: 0.5);
        Dropout = new Generator((ulong)seed + 101, CPU);
        Progress = new JsonState<TrainingProgress>("trainer.progress", TrainingProgress.Start, ObjectScope.Global);
        Loader = new JsonState<DataLoaderState>("data_loader", loader, ObjectScope.Global);
        Seed = new JsonState<int>("train.seed", seed, ObjectScope.Global);
        Parts = new IStateful[]
        {
            new ModuleState(Model, "model", Model.Sharding),
            new OptimizerStateDict(Optimizer, Model, "optim", Model.Sharding),
            new SchedulerState(Scheduler),
            new GeneratorState(Dropout, "rng.dropout", ObjectScope.Global),
            Progress,
            Loader,
            Seed,
        };
    }

    /// <summary>This rank.</summary>
    public int Rank { get; }

    /// <summary>This rank's model part.</summary>
    public RankModel Model { get; }

    /// <summary>The optimizer of this rank's parameters.</summary>
    public AdamW Optimizer { get; }

    /// <summary>The learning-rate schedule.</summary>
    public optim.lr_scheduler.LRScheduler Scheduler { get; }

    /// <summary>The generator of dropout masks.</summary>
    public Generator Dropout { get; }

    /// <summary>The trainer's counters as this rank saves and loads them.</summary>
    public JsonState<TrainingProgress> Progress { get; }

    /// <summary>The data loader's position as this rank saves and loads it.</summary>
    public JsonState<DataLoaderState> Loader { get; }

    /// <summary>The run's <c>--seed</c> as this rank saves and loads it: the data set is drawn from it again on resume, not saved.</summary>
    public JsonState<int> Seed { get; }

    /// <summary>What a checkpoint of this rank holds.</summary>
    public IReadOnlyList<IStateful> Parts { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        Optimizer.Dispose();
        Model.Dispose();
        Dropout.Dispose();
    }
}

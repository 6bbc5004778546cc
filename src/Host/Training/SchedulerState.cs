using System.Text.Json.Nodes;
using TorchSharp;

namespace ActorCkpt;

/// <summary>
/// An LR scheduler's state as one global JSON entry: every field of the scheduler except its
/// optimizer, its functions and its views of the optimizer's options (PyTorch's <c>state_dict()</c>
/// is the same: <c>__dict__</c> without the optimizer and lambdas), so the last epoch, the step
/// count, the base and last learning rates, the schedule's own counters and records (OneCycleLR's
/// phases), and the state of each scheduler a composite holds (SequentialLR, ChainedLR), restored
/// into the composite's own schedulers in place. TorchSharp keeps these fields internal, so they are
/// read and set by reflection (<see cref="SchedulerFields"/>); a field of a type that cannot be
/// carried is refused by name when this is made. The optimizer's current learning rates and
/// momenta travel with the optimizer (<see cref="OptimizerStateDict"/>). A load refuses, before it
/// sets anything, the state of another scheduler type or of a composite of other schedulers.
/// </summary>
public sealed class SchedulerState : IStateful
{
    private readonly torch.optim.lr_scheduler.LRScheduler _scheduler;
    private readonly string _key;

    /// <summary>The state of <paramref name="scheduler"/> under <paramref name="key"/>.</summary>
    public SchedulerState(torch.optim.lr_scheduler.LRScheduler scheduler, string key = "lr_scheduler")
    {
        SchedulerFields.Check(scheduler);
        _scheduler = scheduler;
        _key = key;
    }

    /// <inheritdoc />
    public void Save(RankState state) => state.AddJson(_key, SchedulerFields.Write(_scheduler), ObjectScope.Global);

    /// <inheritdoc />
    public void PrepareLoad(RankState target, CheckpointMetadata saved)
    {
    }

    /// <inheritdoc />
    public void CheckRestore(LoadResult result) => SchedulerFields.CheckRestore(result.Json<JsonObject>(_key), _scheduler, Where(result));

    /// <inheritdoc />
    public void Restore(LoadResult result) => SchedulerFields.Restore(result.Json<JsonObject>(_key), _scheduler, Where(result));

    private string Where(LoadResult result) => $"'{_key}' of step {result.Step}";
}

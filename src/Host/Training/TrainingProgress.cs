namespace ActorCkpt;

/// <summary>
/// Where a training run stands, as Megatron saves beside the weights: the iteration (optimizer
/// steps taken), the samples consumed and the floating-point operations done so far.
/// </summary>
/// <param name="Iteration">Optimizer steps taken.</param>
/// <param name="ConsumedSamples">Training samples consumed, over all ranks.</param>
/// <param name="FloatingPointOperations">Floating-point operations done, over all ranks.</param>
public sealed record TrainingProgress(long Iteration, long ConsumedSamples, double FloatingPointOperations)
{
    /// <summary>The progress of a run that has not started.</summary>
    public static TrainingProgress Start { get; } = new(0, 0, 0);
}


namespace ActorCkpt;

/// <summary>A save did not commit; its reason names the ranks or files at fault. The previous checkpoint is untouched.</summary>
public sealed class CheckpointFailedException(long step, string reason)
    : ActorCkptException($"save of step {step} failed: {reason}")
{
    /// <summary>The step whose save failed.</summary>
    public long Step { get; } = step;

    /// <summary>Why.</summary>
    public string Reason { get; } = reason;
}

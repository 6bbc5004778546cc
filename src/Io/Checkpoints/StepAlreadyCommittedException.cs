
namespace ActorCkpt;

/// <summary>A save asked for a step that is already committed; committed checkpoints are never overwritten.</summary>
public sealed class StepAlreadyCommittedException(long step, string root)
    : ActorCkptException($"step {step} is already committed in '{root}'; refusing to overwrite it")
{
    /// <summary>The step.</summary>
    public long Step { get; } = step;
}


namespace ActorCkpt;

/// <summary>A save was not taken: the rank already had the most saves in flight and the policy is to skip.</summary>
public sealed class SaveSkippedException(long step, string reason) : ActorCkptException($"save of step {step} skipped: {reason}")
{
    /// <summary>The step that was not saved.</summary>
    public long Step { get; } = step;
}

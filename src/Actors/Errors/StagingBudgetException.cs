
namespace ActorCkpt;

/// <summary>A save needs staging memory that waiting could never free: more than the whole budget, or more than what the node's other ranks leave of it for the same step.</summary>
public sealed class StagingBudgetException : ActorCkptException
{
    /// <summary>Creates the exception for a save needing <paramref name="needed"/> bytes, saying <paramref name="why"/> they cannot fit.</summary>
    public StagingBudgetException(long needed, long budget, string why)
        : base($"the state needs {needed} bytes of staging memory, which cannot fit in actorckpt.staging.budget = {budget} bytes: {why}")
    {
        Needed = needed;
        Budget = budget;
    }

    /// <summary>Bytes the save needs (buffer sizes rounded up to 64 KiB).</summary>
    public long Needed { get; }

    /// <summary>The configured budget.</summary>
    public long Budget { get; }
}

using ActorCkpt.Planner;

namespace ActorCkpt.Actors;

/// <summary>A save needs more staging memory than the whole budget: waiting could never make it fit.</summary>
public sealed class StagingBudgetException : ActorCkptException
{
    /// <summary>Creates the exception for a save needing <paramref name="needed"/> bytes.</summary>
    public StagingBudgetException(long needed, long budget)
        : base($"the state needs {needed} bytes of staging memory, over actorckpt.staging.budget = {budget} bytes")
    {
        Needed = needed;
        Budget = budget;
    }

    /// <summary>Bytes the save needs (buffer sizes rounded up to 64 KiB).</summary>
    public long Needed { get; }

    /// <summary>The configured budget.</summary>
    public long Budget { get; }
}

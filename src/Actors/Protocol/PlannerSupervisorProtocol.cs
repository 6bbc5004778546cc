namespace ActorCkpt;

/// <summary>The planner recovered its catalog and runs (told to its supervisor, in-process).</summary>
internal sealed record PlannerStarted
{
    /// <summary>The one instance.</summary>
    public static readonly PlannerStarted Instance = new();
}

/// <summary>The planner's catalog could not be recovered or written, or may not be opened from this root, so it stops (told to its supervisor, in-process).</summary>
/// <param name="Reason">Why, in one line.</param>
/// <param name="Final">No later try can change it (a copy of a root refused, a catalog record that cannot be decoded): the supervisor gives up at once, for good.</param>
internal sealed record PlannerStartFailed(string Reason, bool Final = false);

/// <summary>Asks the planner's supervisor whether its planner started; answered with <see cref="PlannerStartSettled"/> once that is known.</summary>
internal sealed record AwaitPlannerStart
{
    /// <summary>The one instance.</summary>
    public static readonly AwaitPlannerStart Instance = new();
}

/// <summary>The answer to <see cref="AwaitPlannerStart"/>.</summary>
/// <param name="GaveUp">Why the planner could not start, after every try; null when it runs.</param>
internal sealed record PlannerStartSettled(string? GaveUp);

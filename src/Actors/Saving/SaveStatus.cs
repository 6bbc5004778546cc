namespace ActorCkpt;

/// <summary>Where one rank's save stands, or how it ended.</summary>
public enum SaveStatus
{
    /// <summary>Not over yet: staging, waiting for the other ranks, or writing.</summary>
    InFlight,

    /// <summary>The checkpoint is committed: its metadata is durable and loads see it.</summary>
    Committed,

    /// <summary>The save was aborted (a write, the planner or another rank failed); nothing of it is visible.</summary>
    Failed,

    /// <summary>The save was not taken: too many saves of its rank were in flight and <c>actorckpt.async.when-busy = skip</c>.</summary>
    Skipped,

    /// <summary>The caller cancelled the save before its commit began; nothing of it is visible.</summary>
    Cancelled,
}

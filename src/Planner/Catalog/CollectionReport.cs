namespace ActorCkpt;

/// <summary>What a garbage collection removed: debris, steps retention deleted, and what could not go.</summary>
/// <param name="DebrisRemoved">Steps whose uncommitted directories were removed.</param>
/// <param name="Deleted">Committed steps deleted by retention.</param>
/// <param name="Failures">Deleted steps whose files could not be removed, each "step S: cause".</param>
internal sealed record CollectionReport(IReadOnlyList<long> DebrisRemoved, IReadOnlyList<long> Deleted, IReadOnlyList<string> Failures);

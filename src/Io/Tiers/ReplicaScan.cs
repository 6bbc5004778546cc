namespace ActorCkpt;

/// <summary>What <see cref="ReplicaStore.List"/> found.</summary>
/// <param name="Held">Replicas whose header checked, by step then data file.</param>
/// <param name="Unreadable">One line per replica name that is not a readable replica (path and cause); left in place for the planner to judge.</param>
internal sealed record ReplicaScan(IReadOnlyList<HeldReplica> Held, IReadOnlyList<string> Unreadable);

namespace ActorCkpt;

/// <summary>What a host's inventory means for the catalog and for the host.</summary>
/// <param name="Lost">Copies the catalog places on the host that it no longer has: one event per step.</param>
/// <param name="Restored">Copies the catalog marked lost that the host has again (a process restarted with its tmpfs files): one event per step.</param>
/// <param name="Debris">Copies no committed, held memory step (nor a memory round in flight) owns: the host drops them.</param>
internal sealed record Inventory(IReadOnlyList<ReplicasLost> Lost, IReadOnlyList<ReplicasRestored> Restored, IReadOnlyList<HeldCopy> Debris);

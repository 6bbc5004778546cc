namespace ActorCkpt;

/// <summary>A committed step and the tiers it is in, as a load sees it (made from the catalog's entry).</summary>
/// <param name="Step">The step.</param>
/// <param name="OnDisk">Committed on disk (a disk round, or a persisted memory step).</param>
/// <param name="Memory">Its memory replicas; null when it never was a memory step.</param>
/// <param name="OnObject">A copy is committed in the object tier.</param>
internal sealed record TieredStep(long Step, bool OnDisk, MemoryCopies? Memory, bool OnObject = false);

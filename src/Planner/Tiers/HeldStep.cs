namespace ActorCkpt;

/// <summary>A memory step as the budget sees it.</summary>
/// <param name="Step">The step.</param>
/// <param name="Committed">False while its round is in flight.</param>
/// <param name="Persisted">True once it is also committed on disk.</param>
/// <param name="Pinned">Leased by a load or being persisted: it must stay while that lasts.</param>
/// <param name="BytesByHost">Replica bytes it holds on each host.</param>
internal sealed record HeldStep(long Step, bool Committed, bool Persisted, bool Pinned, IReadOnlyDictionary<string, long> BytesByHost);

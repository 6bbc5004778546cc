namespace ActorCkpt;

/// <summary>One copy of a data file in a memory round: which replica, on which host, by which writer.</summary>
/// <param name="File">The file's plan.</param>
/// <param name="Replica">0 for the copy on the rank's own host, 1 to R-1 for the peers'.</param>
/// <param name="Host">The host that holds the copy.</param>
/// <param name="Writer">The writer on that host that writes it.</param>
/// <typeparam name="TRef">Who writes: an actor reference in the actor, a string in the specs.</typeparam>
internal sealed record CopyAssignment<TRef>(FileWritePlan File, int Replica, string Host, TRef Writer);

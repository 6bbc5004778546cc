namespace ActorCkpt;

/// <summary>One data file a rank must have written, and the writer it is handed to (a shard save's view of a <see cref="WriteAssignment"/>).</summary>
/// <param name="File">The file's plan.</param>
/// <param name="Writer">Its writer: an actor reference in the actor, a string in the specs.</param>
/// <param name="Grant">The planner's grant for moving the file's bytes to a writer on another node over the bulk channel (each attempt's token is derived from it).</param>
/// <typeparam name="TActor">Who writes.</typeparam>
internal sealed record FileAssignment<TActor>(FileWritePlan File, TActor Writer, TransferToken? Grant = null) where TActor : class;

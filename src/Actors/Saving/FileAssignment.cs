namespace ActorCkpt;

/// <summary>One data file a rank must have written, and the writer it is handed to (a shard save's view of a <see cref="WriteAssignment"/>).</summary>
/// <param name="File">The file's plan.</param>
/// <param name="Writer">Its writer: an actor reference in the actor, a string in the specs.</param>
/// <param name="Grant">The planner's grant for moving the file's bytes to a writer on another node over the bulk channel (each attempt's token is derived from it).</param>
/// <param name="Replica">Which copy of the file (memory rounds: 0 on the rank's own host, 1 to R-1 on peers; a disk save has only 0).</param>
/// <typeparam name="TActor">Who writes.</typeparam>
internal sealed record FileAssignment<TActor>(FileWritePlan File, TActor Writer, TransferToken? Grant = null, int Replica = 0) where TActor : class
{
    /// <summary>What tells this copy from the file's others: the file name, with "#replica" for a peer's copy.</summary>
    public string Key => KeyOf(File.FileName, Replica);

    /// <summary>The key of copy <paramref name="replica"/> of <paramref name="file"/>.</summary>
    public static string KeyOf(string file, int replica) => replica == 0 ? file : $"{file}#{replica}";
}

namespace ActorCkpt.TestKit;

/// <summary>
/// One fault added to <see cref="StorageFaults"/>: which writes it spoils and whether it has yet.
/// Writes are counted per fault, from 1, from the moment it was added, among the files whose path
/// (relative to the root, '/' separators) matches its pattern.
/// </summary>
public class InjectedFault
{
    internal InjectedFault(string description, FaultPolicy policy)
    {
        Description = description;
        Policy = policy;
    }

    internal FaultPolicy Policy { get; }

    /// <summary>What the fault does, for messages: "fail write #2 of *.safetensors".</summary>
    public string Description { get; }

    /// <summary>How many matching writes the fault has seen so far.</summary>
    public int WritesSeen => Policy.WritesSeen;

    /// <summary>
    /// Completes when the fault first spoils a write: when that file is about to be created (before
    /// it fails, waits or lands corrupted), or, for a full disk, when a write first runs out of space.
    /// </summary>
    public Task Fired => Policy.Fired;

    /// <inheritdoc />
    public override string ToString() => Description;
}

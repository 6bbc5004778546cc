namespace ActorCkpt;

/// <summary>
/// A data file rewritten from a replica does not come out as the replica recorded it: the replica is
/// corrupt (or not the one expected). The file is deleted; the holder is to be marked lost for it,
/// and another holder tried. Not retried: the same bytes give the same answer.
/// </summary>
internal sealed class ReplicaMismatchException(string file, string? item, int? block, string problem)
    : ActorCkptException($"'{file}': the copy from the replica does not match what was recorded: {problem}")
{
    /// <summary>The data file.</summary>
    public string File { get; } = file;

    /// <summary>The item's storage name, or null when the difference is in the file itself.</summary>
    public string? Item { get; } = item;

    /// <summary>The checksum block, or null when the difference is not one block's.</summary>
    public int? Block { get; } = block;
}

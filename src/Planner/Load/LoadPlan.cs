namespace ActorCkpt;

/// <summary>The reads one rank performs to load a checkpoint.</summary>
/// <param name="Step">Step of the checkpoint.</param>
/// <param name="Reads">Reads, grouped by file and ordered by offset.</param>
/// <param name="MissingKeys">Wanted keys the checkpoint lacks (only non-empty for partial loads).</param>
/// <param name="UnexpectedKeys">Checkpoint keys nobody asked for (only non-empty for partial loads).</param>
internal sealed record LoadPlan(long Step, IReadOnlyList<ReadItem> Reads, IReadOnlyList<string> MissingKeys, IReadOnlyList<string> UnexpectedKeys)
{
    /// <summary>Bytes the plan reads from disk.</summary>
    public long BytesToRead => Reads.Sum(r => r.RangeLength);

    /// <summary>The lines to log about mismatched keys under <paramref name="strict"/>; <paramref name="source"/> names the checkpoint ("step 12").</summary>
    public IReadOnlyList<string> Warnings(StrictHandling strict, string source, int rank)
    {
        var warnings = new List<string>();
        if (Strictness.ForMissing(strict) == KeyAction.Log && MissingKeys.Count > 0)
            warnings.Add($"{source} lacks keys rank {rank} asked for (left as they were): {string.Join(", ", MissingKeys)}");
        if (Strictness.ForUnexpected(strict) == KeyAction.Log && UnexpectedKeys.Count > 0)
            warnings.Add($"{source} holds keys rank {rank} did not ask for: {string.Join(", ", UnexpectedKeys)}");
        return warnings;
    }

    /// <summary>The missing keys a load returns under <paramref name="strict"/>: all of them in the return_* modes, none otherwise.</summary>
    public IReadOnlyList<string> ReturnedMissingKeys(StrictHandling strict) =>
        Strictness.ForMissing(strict) == KeyAction.Return ? MissingKeys : Array.Empty<string>();

    /// <summary>The unexpected keys a load returns under <paramref name="strict"/>: all of them in return_all, none otherwise.</summary>
    public IReadOnlyList<string> ReturnedUnexpectedKeys(StrictHandling strict) =>
        Strictness.ForUnexpected(strict) == KeyAction.Return ? UnexpectedKeys : Array.Empty<string>();
}

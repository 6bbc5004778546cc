namespace ActorCkpt.Planner;

/// <summary>The reads one rank performs to load a checkpoint.</summary>
/// <param name="Step">Step of the checkpoint.</param>
/// <param name="Reads">Reads, grouped by file and ordered by offset.</param>
/// <param name="MissingKeys">Wanted keys the checkpoint lacks (only non-empty for partial loads).</param>
/// <param name="UnexpectedKeys">Checkpoint keys nobody asked for (only non-empty for partial loads).</param>
public sealed record LoadPlan(long Step, IReadOnlyList<ReadItem> Reads, IReadOnlyList<string> MissingKeys, IReadOnlyList<string> UnexpectedKeys)
{
    /// <summary>Bytes the plan reads from disk.</summary>
    public long BytesToRead => Reads.Sum(r => r.RangeLength);
}

namespace ActorCkpt;

/// <summary>Knobs of global save planning.</summary>
/// <param name="Dedup">How a replicated chunk's writer is chosen.</param>
/// <param name="FilesPerRank">Data files per rank; 0 picks enough to keep every eligible writer busy.</param>
/// <param name="Placement">Which writers may write a rank's files.</param>
internal sealed record SavePlanSettings(DedupStrategy Dedup = DedupStrategy.Balanced, int FilesPerRank = 0, Placement Placement = Placement.Local)
{
    /// <summary>Balanced dedup, local placement, files per rank chosen from the writer count.</summary>
    public static SavePlanSettings Default { get; } = new();
}

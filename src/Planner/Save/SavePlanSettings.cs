namespace ActorCkpt.Planner;

/// <summary>Knobs of global save planning.</summary>
/// <param name="Dedup">How a replicated chunk's writer is chosen.</param>
/// <param name="FilesPerRank">Data files per rank; 0 picks enough to keep every writer busy (ceil(writers / ranks)).</param>
public sealed record SavePlanSettings(DedupStrategy Dedup = DedupStrategy.Balanced, int FilesPerRank = 0)
{
    /// <summary>Balanced dedup, files per rank chosen from the writer count.</summary>
    public static SavePlanSettings Default { get; } = new();
}

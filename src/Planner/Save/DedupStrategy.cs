namespace ActorCkpt;

/// <summary>Which rank writes a chunk that several ranks hold (a replicated tensor).</summary>
internal enum DedupStrategy
{
    /// <summary>The holder with the fewest bytes to write so far, so ranks share the work (DCP's balanced dedup).</summary>
    Balanced,
    /// <summary>Always the lowest holding rank (DCP's default before balancing).</summary>
    LowestRank,
}

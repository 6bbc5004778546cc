namespace ActorCkpt;

/// <summary>What one rank offers to write in one save: every item it holds, in staging order.</summary>
/// <param name="Rank">The rank.</param>
/// <param name="WorldSize">Number of ranks taking part in the save.</param>
/// <param name="Items">Items in the order of the rank's staged buffers (item i is buffer i).</param>
internal sealed record LocalSavePlan(int Rank, int WorldSize, IReadOnlyList<WriteItem> Items)
{
    /// <summary>
    /// Positions (ascending) of tensor items the rank holds but did not stage, so it cannot write
    /// them: replicas another holder wrote in the last save of the same plan. Dedup picks a holder
    /// that staged the item; when none did, the plan is invalid.
    /// </summary>
    public IReadOnlyList<int> Unstaged { get; init; } = Array.Empty<int>();

    /// <summary>Total bytes of the plan's items.</summary>
    public long TotalBytes => Items.Sum(i => i.ByteLength);
}

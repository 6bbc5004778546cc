namespace ActorCkpt.Planner;

/// <summary>What one rank offers to write in one save: every item it holds, in staging order.</summary>
/// <param name="Rank">The rank.</param>
/// <param name="WorldSize">Number of ranks taking part in the save.</param>
/// <param name="Items">Items in the order of the rank's staged buffers (item i is buffer i).</param>
public sealed record LocalSavePlan(int Rank, int WorldSize, IReadOnlyList<WriteItem> Items)
{
    /// <summary>Total bytes of the plan's items.</summary>
    public long TotalBytes => Items.Sum(i => i.ByteLength);
}

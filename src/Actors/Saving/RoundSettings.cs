namespace ActorCkpt;

/// <summary>What the save rounds need to know of the settings.</summary>
/// <param name="PlanTimeout">How long a round waits for every local plan and a writer.</param>
/// <param name="WriteTimeout">How long it waits for every write report.</param>
/// <param name="Planning">Dedup, placement and files per rank.</param>
/// <param name="Tiers">Which tier each save goes to; null: disk only.</param>
/// <param name="Replicas">Copies of each file in a memory round (R).</param>
/// <param name="MemoryAckTimeout">How long a memory round waits for every copy's acknowledgement; null: the write timeout.</param>
/// <param name="CopyBytes">The bytes a copy of a file takes on its host, as the budget counts them; null: its data bytes.</param>
internal sealed record RoundSettings(TimeSpan PlanTimeout, TimeSpan WriteTimeout, SavePlanSettings Planning,
    TierPolicy? Tiers = null, int Replicas = 1, TimeSpan? MemoryAckTimeout = null, Func<FileWritePlan, long>? CopyBytes = null)
{
    /// <summary>The bytes a copy of <paramref name="file"/> takes on its host.</summary>
    public long BytesOfCopy(FileWritePlan file) => CopyBytes?.Invoke(file) ?? file.DataBytes;

    /// <summary>The tier policy (disk only when none is given).</summary>
    public TierPolicy Policy => Tiers ?? TierPolicy.DiskOnly;

    /// <summary>How long a round of <paramref name="tier"/> waits for its write reports.</summary>
    public TimeSpan WritesDeadline(StorageTier tier) => tier == StorageTier.Memory ? MemoryAckTimeout ?? WriteTimeout : WriteTimeout;
}

namespace ActorCkpt;

/// <summary>What a save round does, as <see cref="TierPolicy.Choose"/> decided it.</summary>
/// <param name="Round">The tier the round itself writes to.</param>
/// <param name="Persist">True when a memory round is also persisted to disk in the background once it commits; always false for a disk round.</param>
internal sealed record TierChoice(StorageTier Round, bool Persist)
{
    /// <summary>Today's direct disk round.</summary>
    public static TierChoice Disk { get; } = new(StorageTier.Disk, false);

    /// <summary>A memory round, not persisted.</summary>
    public static TierChoice MemoryOnly { get; } = new(StorageTier.Memory, false);

    /// <summary>A memory round, then persisted to disk.</summary>
    public static TierChoice MemoryThenDisk { get; } = new(StorageTier.Memory, true);
}

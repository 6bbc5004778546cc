namespace ActorCkpt;

/// <summary>
/// Which tier a save goes to: the planner asks it once per round, with the tier the ranks asked for.
/// </summary>
/// <param name="MemoryEnabled">actorckpt.tiers.memory.enabled: off sends every save to disk, as before the tier existed.</param>
/// <param name="DiskEvery">actorckpt.tiers.disk.every: memory steps that are multiples of it are also persisted; 0 persists only on request.</param>
/// <param name="UploadEvery">actorckpt.tiers.object.every when the object tier is on (0 when off): memory steps that are multiples
/// of it are persisted too, as the object tier uploads from disk.</param>
internal sealed record TierPolicy(bool MemoryEnabled, long DiskEvery, long UploadEvery = 0)
{
    /// <summary>The configuration key that turns the memory tier on, named in every refusal.</summary>
    public const string EnabledKey = "actorckpt.tiers.memory.enabled";

    /// <summary>actorckpt.tiers.disk.every: 0 or more.</summary>
    public long DiskEvery { get; } = DiskEvery >= 0
        ? DiskEvery
        : throw new ArgumentOutOfRangeException(nameof(DiskEvery), $"actorckpt.tiers.disk.every is {DiskEvery}; it must be 0 (only on request) or more");

    /// <summary>The memory tier off: every save goes to disk.</summary>
    public static TierPolicy DiskOnly { get; } = new(false, 0);

    /// <summary>Why <paramref name="requested"/> cannot be honoured (memory while the tier is off, naming the key), or null.</summary>
    public string? Problem(SaveTier requested) =>
        Undefined(requested) ?? (!MemoryEnabled && requested is SaveTier.Memory or SaveTier.MemoryAndDisk
            ? $"a save to the memory tier ({requested}) needs {EnabledKey} = on; it is off"
            : null);

    /// <summary>What is wrong with <paramref name="requested"/> when it names no tier (a cast integer); null when it names one.</summary>
    public static string? Undefined(SaveTier requested) => EnumArguments.Problem(requested, "save tier", ["policy", "memory", "disk", "memory-and-disk"]);

    /// <summary>
    /// The round for <paramref name="step"/>. Policy: memory every step, persisted when
    /// <see cref="DiskEvery"/> &gt; 0 and the step is a multiple of it (disk when the tier is off).
    /// Also persisted when <see cref="UploadEvery"/> &gt; 0 and the step is a multiple of it.
    /// Memory: memory only. Disk: today's direct disk round, even with the tier on.
    /// MemoryAndDisk: memory, then persisted. Throws with <see cref="Problem"/>'s text when there is one:
    /// the caller refuses such a save before it gets here.
    /// </summary>
    public TierChoice Choose(long step, SaveTier requested)
    {
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), $"step {step} is negative");
        if (Problem(requested) is { } problem) throw new ArgumentException(problem, nameof(requested));
        return requested switch
        {
            SaveTier.Disk => TierChoice.Disk,
            SaveTier.Memory => TierChoice.MemoryOnly,
            SaveTier.MemoryAndDisk => TierChoice.MemoryThenDisk,
            SaveTier.Policy when !MemoryEnabled => TierChoice.Disk,
            SaveTier.Policy => DiskEvery > 0 && step % DiskEvery == 0 || UploadEvery > 0 && step % UploadEvery == 0 ? TierChoice.MemoryThenDisk : TierChoice.MemoryOnly,
            _ => throw new ArgumentOutOfRangeException(nameof(requested), Undefined(requested)),
        };
    }
}

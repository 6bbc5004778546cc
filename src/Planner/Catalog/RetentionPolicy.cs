namespace ActorCkpt;

/// <summary>
/// Which committed checkpoints to keep: the newest <see cref="KeepLast"/> (0 keeps all), and
/// permanently every step that is a multiple of <see cref="KeepEvery"/> (0: none is kept for that
/// reason alone).
/// </summary>
/// <param name="KeepLast">How many of the newest committed checkpoints to keep; 0 keeps every one.</param>
/// <param name="KeepEvery">Steps that are multiples of this are kept forever; 0 turns this off.</param>
internal sealed record RetentionPolicy(int KeepLast, long KeepEvery)
{
    /// <summary>Keeps everything.</summary>
    public static RetentionPolicy KeepAll { get; } = new(0, 0);

    /// <summary>The committed steps to delete, oldest first, given every committed step.</summary>
    public IReadOnlyList<long> StepsToDelete(IEnumerable<long> committedSteps)
    {
        if (KeepLast < 0) throw new ArgumentOutOfRangeException(nameof(KeepLast), KeepLast, "keep-last is 0 (keep all) or more");
        if (KeepEvery < 0) throw new ArgumentOutOfRangeException(nameof(KeepEvery), KeepEvery, "keep-every is 0 (off) or more");
        if (KeepLast == 0) return Array.Empty<long>();
        var steps = committedSteps.Distinct().Order().ToArray();
        return steps.Take(Math.Max(0, steps.Length - KeepLast)).Where(s => KeepEvery == 0 || s % KeepEvery != 0).ToArray();
    }

    /// <summary>
    /// Why a save of <paramref name="step"/> beside <paramref name="committedSteps"/> would be deleted as
    /// soon as it committed (older than the newest kept, and not kept by keep-every); null when it would stay.
    /// A caller must not hear "committed" of a step that is already gone.
    /// </summary>
    public string? DeletesOnCommit(long step, IEnumerable<long> committedSteps)
    {
        var steps = committedSteps.Where(s => s != step).ToArray();
        if (!StepsToDelete(steps.Append(step)).Contains(step)) return null;
        var newer = steps.Where(s => s > step).Order().ToArray();
        var named = newer.Length <= 5 ? string.Join(", ", newer) : $"{string.Join(", ", newer.Take(5))}, …";
        return $"step {step} would be deleted as soon as it committed: retention keeps the newest {KeepLast} (actorckpt.retention.keep-last) " +
               $"and {newer.Length} newer {(newer.Length == 1 ? "step is" : "steps are")} committed ({named})";
    }

    /// <summary>Why <paramref name="step"/> goes, for the journal and the log.</summary>
    public string Reason(long step) =>
        KeepEvery == 0
            ? $"retention: step {step} is older than the newest {KeepLast}"
            : $"retention: step {step} is older than the newest {KeepLast} and not a multiple of {KeepEvery}";
}

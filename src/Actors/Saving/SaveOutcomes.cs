namespace ActorCkpt;

/// <summary>
/// The saves a node started whose outcomes its callers have not collected yet (with
/// <c>FinalizeAsync</c>), oldest first. Ended saves are kept for that call, but only the newest
/// <see cref="Kept"/> of them: a training loop that never collects (a memory-tier job saving every
/// step for days) must not hold one handle per save for ever, nor make each new save scan them all.
/// Not thread-safe: the node calls it under its lock.
/// </summary>
internal sealed class SaveOutcomes(int kept = SaveOutcomes.DefaultKept)
{
    /// <summary>Ended saves kept for collection by default.</summary>
    public const int DefaultKept = 4096;

    private readonly List<SaveHandle> _handles = new();

    /// <summary>How many ended saves are kept at most (past twice that, the oldest ended ones go).</summary>
    public int Kept { get; } = kept;

    /// <summary>The handles held, oldest first: those in flight and the ended ones not yet collected.</summary>
    public IReadOnlyList<SaveHandle> Held => _handles;

    /// <summary>Holds <paramref name="handle"/>; drops the oldest ended handles once more than twice <see cref="Kept"/> are held (amortized).</summary>
    public void Add(SaveHandle handle)
    {
        _handles.Add(handle);
        if (_handles.Count <= 2 * Kept) return;
        var excess = _handles.Count(h => h.IsFinished) - Kept;
        if (excess <= 0) return;
        var dropped = 0;
        _handles.RemoveAll(h => h.IsFinished && dropped++ < excess);
    }

    /// <summary>True when a save of <paramref name="step"/> by <paramref name="rank"/> is in flight.</summary>
    public bool InFlight(int rank, long step) => _handles.Any(h => h.Rank == rank && h.Step == step && !h.IsFinished);

    /// <summary>The saves in flight.</summary>
    public IEnumerable<SaveHandle> Unfinished => _handles.Where(h => !h.IsFinished);

    /// <summary>Removes and returns the ended saves, oldest first.</summary>
    public List<SaveHandle> TakeFinished()
    {
        // Each handle asked once: a save ends on an actor's thread, outside the caller's lock, so one
        // asked twice could end between the asks and be removed without being returned.
        var finished = new List<SaveHandle>();
        var running = new List<SaveHandle>(_handles.Count);
        foreach (var h in _handles) (h.IsFinished ? finished : running).Add(h);
        _handles.Clear();
        _handles.AddRange(running);
        return finished;
    }
}

namespace ActorCkpt;

/// <summary>
/// The planner's record of which ranks (<typeparamref name="THolder"/>) are loading which steps: a
/// leased step is never deleted. A holder that stops releases every lease it held.
/// </summary>
internal sealed class LoadLeases<THolder> where THolder : notnull
{
    /// <summary>
    /// Resolves a lease request for <paramref name="requested"/> (null: the newest step committed on disk)
    /// against <paramref name="catalog"/>: a committed step is granted; a deleted one only to a
    /// <paramref name="renew"/>al whose files are still there and not being removed (<paramref name="canRenew"/>).
    /// </summary>
    public static LeaseResolution Resolve(CheckpointCatalog catalog, long? requested, bool renew, Func<long, bool> canRenew, string root)
    {
        // Loads read the disk tier: a memory-only step is not a checkpoint they can load.
        var step = requested ?? catalog.DiskSteps.LastOrDefault(-1);
        var entry = step >= 0 ? catalog[step] : null;
        if (entry?.OnDisk == true || (renew && entry?.Status == CheckpointStatus.Deleted && canRenew(step)))
            return new LeaseResolution(step, entry!.MetadataChecksum ?? "", null);
        return new LeaseResolution(step, "", requested is null
            ? $"no committed checkpoint in '{root}'"
            : $"step {step} is not a committed checkpoint in '{root}'" + (entry is null ? "" : entry.Status == CheckpointStatus.Committed
                ? " (it is committed in memory only)"
                : WhatBecameOf(entry)));
    }

    /// <summary>What became of a step that is not committed, as a refusal adds it: " (it is aborted: why)", " (it is deleted: why)".</summary>
    public static string WhatBecameOf(CatalogEntry entry) =>
        $" (it is {entry.Status.ToString().ToLowerInvariant()}{(entry.Reason is null ? "" : ": " + entry.Reason)})";

    private readonly Dictionary<long, Dictionary<THolder, int>> _byStep = new();

    /// <summary>
    /// A lease request of <paramref name="holder"/>, resolved as <see cref="Resolve"/> says. Each grant
    /// is one lease: a rank that asked more than once hands back the grants it does not keep. Returns
    /// the resolution and whether the holder is new (to watch, so that its leases end when it stops).
    /// </summary>
    public (LeaseResolution Lease, bool Watch) Request(THolder holder, long? step, bool renew, CheckpointCatalog catalog, Func<long, bool> canRenew, string root)
    {
        var lease = Resolve(catalog, step, renew, canRenew, root);
        var watch = lease.Refusal is null && Acquire(lease.Step, holder);
        return (lease, watch);
    }

    /// <summary>Records a lease of <paramref name="step"/> by <paramref name="holder"/>; true when the holder had none before (watch it).</summary>
    public bool Acquire(long step, THolder holder)
    {
        var isNew = !_byStep.Values.Any(h => h.ContainsKey(holder));
        if (!_byStep.TryGetValue(step, out var holders)) _byStep[step] = holders = new Dictionary<THolder, int>();
        holders[holder] = holders.GetValueOrDefault(holder) + 1;
        return isNew;
    }

    /// <summary>Ends one lease of <paramref name="step"/> by <paramref name="holder"/>; returns the step when no lease holds it any more.</summary>
    public IEnumerable<long> Release(long step, THolder holder)
    {
        if (!_byStep.TryGetValue(step, out var holders) || !holders.TryGetValue(holder, out var n)) return Array.Empty<long>();
        if (n > 1) holders[holder] = n - 1;
        else holders.Remove(holder);
        if (holders.Count > 0) return Array.Empty<long>();
        _byStep.Remove(step);
        return new[] { step };
    }

    /// <summary>Ends every lease of <paramref name="holder"/> (it stopped); returns the steps no lease holds any more.</summary>
    public IEnumerable<long> ReleaseAll(THolder holder)
    {
        var freed = new List<long>();
        foreach (var (step, holders) in _byStep.ToList())
        {
            if (!holders.Remove(holder) || holders.Count > 0) continue;
            _byStep.Remove(step);
            freed.Add(step);
        }
        return freed;
    }

    /// <summary>True while some rank is loading <paramref name="step"/>.</summary>
    public bool IsHeld(long step) => _byStep.ContainsKey(step);
}

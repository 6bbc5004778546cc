namespace ActorCkpt;

/// <summary>
/// What a rank's last committed save left to other ranks: the positions of the replicated tensor
/// chunks another holder wrote, and the fingerprint of the local plan they are positions in. Dedup
/// is deterministic, and it only picks holders that staged a chunk, so a save with the same plan
/// gets the same writers: it need not stage those chunks, which with replicated layouts is most of
/// what a rank holds. Shared by the rank's shard actors (one per save in flight), hence locked.
/// Turned off by <c>actorckpt.staging.skip-replicas-written-elsewhere = off</c>.
/// </summary>
internal sealed class ReplicaMemory
{
    private readonly object _lock = new();
    private (ulong Fingerprint, int[] Positions)? _last;

    /// <summary>The positions the next save may leave unstaged when its plan's fingerprint is <paramref name="fingerprint"/>; none otherwise.</summary>
    public IReadOnlyList<int> SkippableFor(ulong fingerprint)
    {
        lock (_lock) return _last is { } last && last.Fingerprint == fingerprint ? last.Positions : Array.Empty<int>();
    }

    /// <summary>Records a committed save of the plan <paramref name="fingerprint"/> in which others wrote the chunks at <paramref name="writtenElsewhere"/> (ascending).</summary>
    public void Remember(ulong fingerprint, int[] writtenElsewhere)
    {
        lock (_lock) _last = (fingerprint, writtenElsewhere);
    }

    /// <summary>A save failed: the writers of the next one are not known, so it stages everything.</summary>
    public void Forget()
    {
        lock (_lock) _last = null;
    }
}

namespace ActorCkpt;

/// <summary>
/// Faults a node's bulk client injects into the data frames it sends, for tests: the next
/// <c>corrupt</c> frames go out with one bit flipped after their checksum was taken, and after
/// <c>dropAfter</c> more frames the connection is cut mid-transfer. Thread-safe; each fault is used once.
/// </summary>
internal sealed class BulkSendFaults(int corrupt = 0, int dropAfter = -1)
{
    private int _corrupt = corrupt, _dropAfter = dropAfter, _corrupted, _dropped;

    /// <summary>Frames sent corrupted so far.</summary>
    public int Corrupted => Volatile.Read(ref _corrupted);

    /// <summary>Connections cut so far.</summary>
    public int Dropped => Volatile.Read(ref _dropped);

    /// <summary>Whether the frame about to go out is to be corrupted (counts it).</summary>
    internal bool CorruptNext()
    {
        if (Interlocked.Decrement(ref _corrupt) < 0) return false;
        Interlocked.Increment(ref _corrupted);
        return true;
    }

    /// <summary>Whether the connection is to be cut before the frame about to go out (counts it).</summary>
    internal bool DropNext()
    {
        if (Interlocked.Decrement(ref _dropAfter) != -1) return false;
        Interlocked.Increment(ref _dropped);
        return true;
    }
}

namespace ActorCkpt;

/// <summary>
/// Faults a node's bulk client injects into the data frames it sends, for tests: the next
/// <c>corrupt</c> frames go out with one bit flipped after their checksum was taken, and after
/// <c>dropAfter</c> more frames the connection is cut mid-transfer. On a server, the next <c>refuse</c>
/// transfers are refused as a token that expired or was used would be. Thread-safe; each fault is used once.
/// </summary>
internal sealed class BulkSendFaults(int corrupt = 0, int dropAfter = -1, int refuse = 0)
{
    private int _corrupt = corrupt, _dropAfter = dropAfter, _refuse = refuse, _corrupted, _dropped, _refused;

    /// <summary>Frames sent corrupted so far.</summary>
    public int Corrupted => Volatile.Read(ref _corrupted);

    /// <summary>Connections cut so far.</summary>
    public int Dropped => Volatile.Read(ref _dropped);

    /// <summary>Transfers refused so far.</summary>
    public int Refused => Volatile.Read(ref _refused);

    /// <summary>Whether the transfer a server just admitted is to be refused instead (counts it).</summary>
    internal bool RefuseNext()
    {
        if (Interlocked.Decrement(ref _refuse) < 0) return false;
        Interlocked.Increment(ref _refused);
        return true;
    }

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

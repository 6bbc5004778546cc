namespace ActorCkpt;

/// <summary>
/// <see cref="IBlobStore.Lock"/> was refused: another holder, in this process or another, has the
/// lock. Names the lock file and, when the holder recorded itself, the holder.
/// </summary>
internal sealed class LockHeldException : IOException
{
    /// <summary>The refusal of <paramref name="lockFile"/> (a full path), held by <paramref name="holder"/> when known.</summary>
    public LockHeldException(string lockFile, LockHolder? holder, Exception? inner = null)
        : base($"'{lockFile}' is locked by {(holder is null ? "another holder that has not recorded who it is (one taking it at this very moment, as a second checkpointer starting on the same root at once)" : holder.Describe())}", inner)
    {
        LockFile = lockFile;
        Holder = holder;
    }

    /// <summary>The full path of the lock file.</summary>
    public string LockFile { get; }

    /// <summary>Who holds it, as it recorded itself; null when it did not.</summary>
    public LockHolder? Holder { get; }
}

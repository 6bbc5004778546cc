namespace ActorCkpt;

/// <summary>
/// A checkpointer (the saving side) was started on a checkpoint root whose catalog another
/// checkpointer holds: only one may own a root's catalog at a time. Not retried: stop the other
/// one, or open the root read-only.
/// </summary>
public sealed class RootLockedException : ActorCkptException
{
    internal RootLockedException(string root, LockHeldException held)
        : base($"the checkpoint root '{root}' is held by another checkpointer: {held.Message}; stop it, or open the root read-only with CheckpointReader.Open", held)
    {
        Root = root;
        LockFile = held.LockFile;
        HolderProcessId = held.Holder?.ProcessId;
        HolderHostName = held.Holder?.HostName;
    }

    /// <summary>The checkpoint root.</summary>
    public string Root { get; }

    /// <summary>The full path of the lock file the other checkpointer holds.</summary>
    public string LockFile { get; }

    /// <summary>The process id of the holder, when it recorded itself.</summary>
    public int? HolderProcessId { get; }

    /// <summary>The host the holder runs on, when it recorded itself.</summary>
    public string? HolderHostName { get; }
}

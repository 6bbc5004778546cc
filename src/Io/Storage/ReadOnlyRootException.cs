namespace ActorCkpt;

/// <summary>The checkpoint root cannot be written (a read-only file system, or no permission): it can be loaded from, never saved to.</summary>
internal sealed class ReadOnlyRootException : ActorCkptException
{
    /// <summary>The refusal of <paramref name="root"/>, with the storage's own error.</summary>
    public ReadOnlyRootException(string root, Exception cause)
        : base($"the checkpoint root '{root}' is read-only ({cause.Message}): checkpoints can be loaded from it, not saved to it", cause)
    {
    }
}

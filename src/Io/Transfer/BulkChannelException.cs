namespace ActorCkpt;

/// <summary>
/// A transfer over the bulk channel failed: a refused token, a corrupted or unexpected frame, a
/// dropped connection, or the other side giving up. The message names the peer and the fault.
/// </summary>
internal sealed class BulkChannelException : ActorCkptException
{
    /// <summary>Creates the exception.</summary>
    public BulkChannelException(string message) : base(message) { }

    /// <summary>Creates the exception with its cause.</summary>
    public BulkChannelException(string message, Exception inner) : base(message, inner) { }
}

namespace ActorCkpt;

/// <summary>A file being written: positional writes, then one <see cref="Flush"/> that makes it durable.</summary>
internal interface IBlobWriter : IDisposable
{
    /// <summary>Writes <paramref name="data"/> at <paramref name="offset"/>.</summary>
    void Write(ReadOnlySpan<byte> data, long offset);

    /// <summary>
    /// Writes <paramref name="data"/> at <paramref name="offset"/>, where the caller keeps the bytes
    /// valid and unchanged until <see cref="Flush"/> or <see cref="IDisposable.Dispose"/> has
    /// returned: a writer that sends later (an object upload's parts) may then read them where they
    /// lie instead of copying them. Others write them at once.
    /// </summary>
    void WriteLent(ReadOnlyMemory<byte> data, long offset) => Write(data.Span, offset);

    /// <summary>Makes everything written durable (fsync).</summary>
    void Flush();

    /// <summary>
    /// Gives the writing up, from any thread: a write or flush waiting on the store ends (throws) as
    /// soon as it can, and the dispose that follows drops what was written with one try, no retries
    /// (a part already sent still finishes its attempt first: up to two request timeouts in all).
    /// A local file has no such wait: nothing to do.
    /// </summary>
    void Abandon()
    {
    }
}

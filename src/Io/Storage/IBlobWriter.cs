namespace ActorCkpt;

/// <summary>A file being written: positional writes, then one <see cref="Flush"/> that makes it durable.</summary>
internal interface IBlobWriter : IDisposable
{
    /// <summary>Writes <paramref name="data"/> at <paramref name="offset"/>.</summary>
    void Write(ReadOnlySpan<byte> data, long offset);

    /// <summary>Makes everything written durable (fsync).</summary>
    void Flush();
}

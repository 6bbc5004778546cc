namespace ActorCkpt.Fuzz;

/// <summary>An <see cref="IBlobReader"/> over bytes in memory: a file's content without a file.</summary>
internal sealed class MemoryBlobReader(byte[] bytes) : IBlobReader
{
    /// <inheritdoc />
    public long Length => bytes.Length;

    /// <inheritdoc />
    public void ReadExactly(Span<byte> buffer, long offset)
    {
        if (offset < 0 || offset > bytes.Length - buffer.Length)
            throw new EndOfStreamException($"{buffer.Length} bytes at {offset} are past the end of {bytes.Length}");
        bytes.AsSpan((int)offset, buffer.Length).CopyTo(buffer);
    }

    /// <inheritdoc />
    public void Dispose()
    {
    }
}

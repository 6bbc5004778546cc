namespace ActorCkpt;

/// <summary>
/// A range of another file read as a file of its own: a tmpfs replica's payload, offset 0 being the
/// data file's first byte. A read past <see cref="Length"/> fails here, never reaching bytes beyond
/// the payload. Owns the inner reader.
/// </summary>
internal sealed class OffsetBlobReader : IBlobReader
{
    private readonly IBlobReader _inner;
    private readonly string _name;

    /// <summary>Reads <paramref name="inner"/>[<paramref name="start"/>, <paramref name="start"/> + <paramref name="length"/>), which must lie inside it; <paramref name="name"/> is for messages.</summary>
    public OffsetBlobReader(IBlobReader inner, long start, long length, string name)
    {
        if (start < 0 || length < 0 || start > inner.Length - length)
            throw new ArgumentOutOfRangeException(nameof(length), $"'{name}': bytes {start}+{length} do not lie inside its {inner.Length} bytes");
        _inner = inner;
        Start = start;
        Length = length;
        _name = name;
    }

    /// <inheritdoc />
    public int PreferredReadBytes => _inner.PreferredReadBytes;

    /// <summary>Where offset 0 of this reader lies in the inner file.</summary>
    public long Start { get; }

    /// <inheritdoc />
    public long Length { get; }

    /// <inheritdoc />
    public void ReadExactly(Span<byte> buffer, long offset)
    {
        if (offset < 0 || offset > Length - buffer.Length)
            throw new EndOfStreamException($"'{_name}': bytes {offset}+{buffer.Length} are outside its {Length} bytes");
        _inner.ReadExactly(buffer, Start + offset);
    }

    /// <inheritdoc />
    public void Dispose() => _inner.Dispose();
}

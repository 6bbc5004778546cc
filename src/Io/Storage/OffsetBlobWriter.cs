namespace ActorCkpt;

/// <summary>
/// Writes into <paramref name="inner"/> shifted by <paramref name="start"/> bytes: a data file written
/// behind a header whose length is known before the first byte (a tmpfs replica). Owns
/// <paramref name="inner"/>: flushing and disposing pass through.
/// </summary>
internal sealed class OffsetBlobWriter(IBlobWriter inner, long start) : IBlobWriter
{
    /// <summary>Where offset 0 of this writer lands in the inner file.</summary>
    public long Start { get; } = start >= 0 ? start : throw new ArgumentOutOfRangeException(nameof(start), start, "must not be negative");

    /// <inheritdoc />
    public void Write(ReadOnlySpan<byte> data, long offset)
    {
        if (offset < 0) throw new ArgumentOutOfRangeException(nameof(offset), offset, "must not be negative");
        inner.Write(data, checked(Start + offset));
    }

    /// <inheritdoc />
    public void Abandon() => inner.Abandon();

    /// <inheritdoc />
    public void WriteLent(ReadOnlyMemory<byte> data, long offset)
    {
        if (offset < 0) throw new ArgumentOutOfRangeException(nameof(offset), offset, "must not be negative");
        inner.WriteLent(data, checked(Start + offset));
    }

    /// <inheritdoc />
    public void Flush() => inner.Flush();

    /// <inheritdoc />
    public void Dispose() => inner.Dispose();
}

namespace ActorCkpt;

/// <summary>A byte range of a stored file served to a fetch over the bulk channel; disposing it closes the file.</summary>
/// <param name="reader">The open file (owned: disposed with the source).</param>
/// <param name="offset">First byte of the range.</param>
/// <param name="length">Bytes of the range.</param>
/// <param name="frameSize">Bytes per frame asked for (see <see cref="ITransferSource.FrameSize"/>); 0: the channel's.</param>
internal sealed class BlobRangeSource(IBlobReader reader, long offset, long length, int frameSize = 0) : ITransferSource
{
    /// <inheritdoc />
    public long Length => length;

    /// <inheritdoc />
    public int FrameSize => frameSize;

    /// <inheritdoc />
    public void Read(long position, Span<byte> into) => reader.ReadExactly(into, offset + position);

    /// <inheritdoc />
    public void Dispose() => reader.Dispose();
}

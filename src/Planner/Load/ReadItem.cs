namespace ActorCkpt;

/// <summary>
/// One read of a load: a block-aligned byte range of a stored chunk, and the region of the
/// global tensor to copy from it into a destination.
/// </summary>
/// <param name="Target">Destination index (<see cref="WantedChunk.Target"/>).</param>
/// <param name="Key">Tensor key.</param>
/// <param name="DType">Element type.</param>
/// <param name="Source">The stored chunk read from.</param>
/// <param name="RangeStart">First byte to read, relative to the chunk's first byte; a multiple of the block size.</param>
/// <param name="RangeLength">Bytes to read; ends on a block boundary or at the chunk's end.</param>
/// <param name="Region">The part of the global tensor this read provides.</param>
/// <param name="TargetBox">The destination's box in the global tensor.</param>
internal sealed record ReadItem(
    int Target,
    string Key,
    DType DType,
    StoredChunk Source,
    long RangeStart,
    long RangeLength,
    TensorBox Region,
    TensorBox TargetBox)
{
    /// <summary>Index of the first checksum block covered by the read.</summary>
    public int FirstBlock => (int)(RangeStart / Source.Bytes.BlockSize);

    /// <summary>Bytes of the destination the read fills (its region, whatever it read around it).</summary>
    public long DestinationBytes => Region.Volume * DTypes.ElementSize(DType);

    /// <summary>Where in the destination (bytes, row-major over <see cref="TargetBox"/>) the region's first element goes.</summary>
    public long DestinationStart =>
        Shapes.LinearIndex(TargetBox.Lengths, Region.OffsetsWithin(TargetBox)) * DTypes.ElementSize(DType);

    /// <summary>Bytes of the destination from the region's first element to the end of its last: the window the read writes into.</summary>
    public long DestinationSpan => BoxSplitter.Span(Region, TargetBox) * DTypes.ElementSize(DType);

    /// <summary>Number of checksum blocks covered by the read.</summary>
    public int BlockCount => (int)((RangeLength + Source.Bytes.BlockSize - 1) / Source.Bytes.BlockSize);
}

namespace ActorCkpt;

/// <summary>
/// What makes two ranks' reads the same read: the same stored bytes (data file, absolute offset,
/// length) and the same region of the same tensor taken from them. The step and the metadata's
/// checksum are the key of the <see cref="SharedReads"/> group the range belongs to.
/// </summary>
/// <param name="File">The data file.</param>
/// <param name="Offset">First byte read, from the start of the file.</param>
/// <param name="Length">Bytes read.</param>
/// <param name="Tensor">Key of the tensor the region belongs to.</param>
/// <param name="Region">The part of the global tensor the read provides.</param>
internal readonly record struct SharedRangeKey(string File, long Offset, long Length, string Tensor, TensorBox Region)
{
    /// <summary>The key of <paramref name="read"/>.</summary>
    public static SharedRangeKey Of(ReadItem read) =>
        new(read.Source.Bytes.File, read.Source.Bytes.Offset + read.RangeStart, read.RangeLength, read.Key, read.Region);
}

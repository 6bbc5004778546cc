using System.Buffers;
using ActorCkpt.Planner;

namespace ActorCkpt.Io;

/// <summary>Gives the bytes of destination <paramref name="target"/> (a contiguous row-major tensor).</summary>
public delegate Span<byte> DestinationProvider(int target);

/// <summary>
/// Executes load plans: reads each planned byte range (files opened once, ranges read in
/// parallel), verifies every checksum block it read, and puts the wanted region into its
/// destination. A range that is exactly its region, laid out the same way in the destination, is
/// read straight into the destination a block at a time and verified there while the block is
/// still in the CPU cache; any other range goes through a buffer. Any mismatch throws
/// <see cref="ChecksumMismatchException"/> naming file and key.
/// </summary>
public sealed class CheckpointReader(CheckpointStore store)
{
    /// <summary>
    /// Reads every item of <paramref name="plan"/> into the destinations, <paramref name="parallelism"/>
    /// reads at a time; <paramref name="progress"/> hears, as each read completes, the destination bytes it filled.
    /// </summary>
    public void Read(LoadPlan plan, DestinationProvider destination, int parallelism, IProgress<long>? progress = null) =>
        PlanReads.ForEach(plan.Reads, f => store.Blobs.OpenRead(CheckpointLayout.InStep(plan.Step, f)), parallelism, (read, reader) =>
        {
            if (DirectOffset(read) is { } at)
                ReadInPlace(read, reader, destination(read.Target).Slice(checked((int)at), checked((int)read.RangeLength)));
            else
                ReadThroughBuffer(read, reader, destination(read.Target));
            progress?.Report(read.DestinationBytes);
        });

    /// <summary>
    /// Where in the destination the read's bytes go one for one, or null when they do not: the range
    /// holds more than the region (whole checksum blocks around it), or the region is not one run of
    /// elements in the source or in the destination.
    /// </summary>
    public static long? DirectOffset(ReadItem read)
    {
        var size = DTypes.ElementSize(read.DType);
        if (read.RangeLength != read.DestinationBytes || read.RangeLength == 0) return null;
        if (!read.Region.IsContiguousIn(read.Source.Box) || !read.Region.IsContiguousIn(read.TargetBox)) return null;
        if (Shapes.LinearIndex(read.Source.Box.Lengths, read.Region.OffsetsWithin(read.Source.Box)) * size != read.RangeStart) return null;
        return Shapes.LinearIndex(read.TargetBox.Lengths, read.Region.OffsetsWithin(read.TargetBox)) * size;
    }

    private static void ReadInPlace(ReadItem read, IBlobReader reader, Span<byte> target)
    {
        var blockSize = read.Source.Bytes.BlockSize;
        var offset = read.Source.Bytes.Offset + read.RangeStart;
        for (var b = 0; b < read.BlockCount; b++)
        {
            var block = target.Slice(b * blockSize, Math.Min(blockSize, target.Length - b * blockSize));
            reader.ReadExactly(block, offset + (long)b * blockSize);
            Verify(block, read.Source.Bytes, read.FirstBlock + b, read.Key);
        }
    }

    private static void ReadThroughBuffer(ReadItem read, IBlobReader reader, Span<byte> destination)
    {
        var length = checked((int)read.RangeLength);
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var bytes = buffer.AsSpan(0, length);
            reader.ReadExactly(bytes, read.Source.Bytes.Offset + read.RangeStart);
            Apply(read, bytes, destination);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Verifies the bytes of <paramref name="read"/> (however they were fetched) against their
    /// block checksums and copies the read's region into <paramref name="destination"/>.
    /// </summary>
    public static void Apply(ReadItem read, ReadOnlySpan<byte> bytes, Span<byte> destination)
    {
        if (bytes.Length != read.RangeLength)
            throw new ActorCkptException($"'{read.Source.Bytes.File}': {bytes.Length} bytes arrived for '{read.Key}', {read.RangeLength} were read");
        Verify(bytes, read.Source.Bytes, read.FirstBlock, read.Key);
        var size = DTypes.ElementSize(read.DType);
        BoxCopy.Copy(bytes, read.Source.Box.Lengths, read.RangeStart / size, read.Region.OffsetsWithin(read.Source.Box),
            destination, read.TargetBox.Lengths, read.Region.OffsetsWithin(read.TargetBox), read.Region.Lengths, size);
    }

    /// <summary>Reads and verifies the bytes of a non-tensor entry of step <paramref name="step"/>.</summary>
    public byte[] ReadObject(long step, ObjectMetadata entry)
    {
        var bytes = new byte[entry.Bytes.Length];
        using var reader = store.Blobs.OpenRead(CheckpointLayout.InStep(step, entry.Bytes.File));
        reader.ReadExactly(bytes, entry.Bytes.Offset);
        Verify(bytes, entry.Bytes, 0, entry.Key);
        return bytes;
    }

    /// <summary>
    /// Checks <paramref name="bytes"/>, which start at block <paramref name="firstBlock"/> of
    /// <paramref name="stored"/>, against the recorded block checksums.
    /// </summary>
    public static void Verify(ReadOnlySpan<byte> bytes, StoredBytes stored, int firstBlock, string key)
    {
        var size = stored.BlockSize;
        for (var b = 0; b * (long)size < bytes.Length; b++)
        {
            var start = b * size;
            var block = bytes.Slice(start, Math.Min(size, bytes.Length - start));
            var index = firstBlock + b;
            if (index >= stored.BlockChecksums.Count || BlockChecksums.Of(block) != stored.BlockChecksums[index])
                throw new ChecksumMismatchException(stored.File, key, index, stored.Offset + (long)index * size);
        }
    }
}

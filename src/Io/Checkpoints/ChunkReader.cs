using System.Buffers;
using System.IO.Hashing;

namespace ActorCkpt;

/// <summary>
/// Gives bytes <paramref name="offset"/> to <paramref name="offset"/> + <paramref name="length"/> of
/// destination <paramref name="target"/> (a contiguous row-major tensor, which may be larger than one span).
/// </summary>
internal delegate Span<byte> DestinationProvider(int target, long offset, int length);

/// <summary>
/// Executes load plans: reads each planned byte range (files opened once, ranges read in
/// parallel), verifies every checksum block it read, and puts the wanted region into its
/// destination. A region that is one run of elements both in the file and in the destination is
/// read straight into the destination (the rest of its checksum blocks into a scratch buffer),
/// a block at a time, each verified while it is still in the CPU cache; any other range goes
/// through a buffer. Any mismatch throws <see cref="ChecksumMismatchException"/> naming file and key.
/// </summary>
internal sealed class ChunkReader(CheckpointStore store)
{
    /// <summary>
    /// Reads every item of <paramref name="plan"/> into the destinations, <paramref name="parallelism"/>
    /// reads at a time; <paramref name="progress"/> hears, as each read completes, the destination bytes it filled.
    /// Once <paramref name="cancellation"/> is cancelled no read starts, and it throws when the reads under way are done.
    /// </summary>
    public void Read(LoadPlan plan, DestinationProvider destination, int parallelism, IProgress<long>? progress = null, CancellationToken cancellation = default) =>
        ParallelReads.ForEach(plan.Reads, f => store.Blobs.OpenRead(CheckpointLayout.InStep(plan.Step, f)), parallelism, (read, reader) =>
        {
            ReadOne(read, reader, destination);
            progress?.Report(read.DestinationBytes);
        }, cancellation);

    /// <summary>
    /// Reads <paramref name="read"/> from <paramref name="reader"/> (its data file) into its window of
    /// <paramref name="destination"/>, verifying every checksum block it read.
    /// </summary>
    public static void ReadOne(ReadItem read, IBlobReader reader, DestinationProvider destination)
    {
        var window = Window(read, destination);
        if (DirectOffset(read) is not null)
            ReadInPlace(read, reader, window);
        else
            ReadThroughBuffer(read, reader, window);
    }

    /// <summary>
    /// Reads <paramref name="box"/> of the saved <paramref name="tensor"/> (a tensor of
    /// <paramref name="metadata"/>, in its saved dtype) into destination 0, laid out row-major over the box.
    /// </summary>
    public void ReadBox(CheckpointMetadata metadata, TensorMetadata tensor, TensorBox box, DestinationProvider destination, int parallelism) =>
        Read(LoadPlanner.Plan(metadata, [new WantedChunk(0, tensor.Key, tensor.DType, tensor.Shape, box)], StrictHandling.AssumeOkUnexpected),
            destination, parallelism);

    /// <summary>The part of <paramref name="read"/>'s destination it writes into (from its region's first element to its last).</summary>
    public static Span<byte> Window(ReadItem read, DestinationProvider destination) =>
        destination(read.Target, read.DestinationStart, checked((int)read.DestinationSpan));

    /// <summary>
    /// Where in the destination the read's region starts when the region is one run of elements
    /// both in the stored chunk and in the destination (so its bytes go there one for one); null otherwise.
    /// </summary>
    public static long? DirectOffset(ReadItem read)
    {
        if (read.DestinationBytes == 0 || !read.Region.IsContiguousIn(read.Source.Box) || !read.Region.IsContiguousIn(read.TargetBox)) return null;
        return read.DestinationStart;
    }


    /// <summary>
    /// Reads the range block by block: the region's bytes into <paramref name="target"/>, the bytes
    /// of its first and last blocks around it into scratch, hashing each block's pieces in order.
    /// Whole blocks inside the region are read in runs of up to the reader's <see cref="IBlobReader.PreferredReadBytes"/>
    /// (small blocks must not mean small reads, least of all on an object store, where each read is a request), then verified.
    /// </summary>
    private static void ReadInPlace(ReadItem read, IBlobReader reader, Span<byte> target)
    {
        var stored = read.Source.Bytes;
        var regionStart = Shapes.LinearIndex(read.Source.Box.Lengths, read.Region.OffsetsWithin(read.Source.Box)) * DTypes.ElementSize(read.DType);
        var regionEnd = regionStart + target.Length;
        var rangeEnd = read.RangeStart + read.RangeLength;
        var margin = Math.Max(regionStart - read.RangeStart, rangeEnd - regionEnd);
        var scratch = margin > 0 ? ArrayPool<byte>.Shared.Rent(checked((int)margin)) : null;
        var hasher = new XxHash3();
        try
        {
            var size = stored.BlockSize;
            var runBlocks = Math.Max(1, reader.PreferredReadBytes / size);
            var block = read.FirstBlock;
            while ((long)block * size < rangeEnd)
            {
                var blockStart = (long)block * size;
                var whole = (int)Math.Min(runBlocks, (regionEnd - blockStart) / size);
                if (blockStart >= regionStart && whole > 0)
                {
                    var run = target.Slice((int)(blockStart - regionStart), whole * size);
                    reader.ReadExactly(run, stored.Offset + blockStart);
                    for (var k = 0; k < whole; k++, block++)
                        Check(stored, read.Key, block, BlockChecksums.Of(run.Slice(k * size, size)));
                    continue;
                }
                var blockEnd = Math.Min(blockStart + size, rangeEnd);
                hasher.Reset();
                long before = Math.Min(blockEnd, regionStart), from = Math.Max(blockStart, regionStart), to = Math.Min(blockEnd, regionEnd), after = Math.Max(blockStart, regionEnd);
                if (before > blockStart) ReadPiece(reader, hasher, stored.Offset + blockStart, scratch.AsSpan(0, (int)(before - blockStart)));
                if (to > from) ReadPiece(reader, hasher, stored.Offset + from, target.Slice((int)(from - regionStart), (int)(to - from)));
                if (blockEnd > after) ReadPiece(reader, hasher, stored.Offset + after, scratch.AsSpan(0, (int)(blockEnd - after)));
                Check(stored, read.Key, block++, hasher.GetCurrentHashAsUInt64());
            }
        }
        finally
        {
            if (scratch is not null) ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    /// <summary>Throws naming file, key and block when <paramref name="sum"/> is not block <paramref name="block"/>'s recorded checksum.</summary>
    private static void Check(StoredBytes stored, string key, int block, ulong sum)
    {
        if (block >= stored.BlockChecksums.Count || sum != stored.BlockChecksums[block])
            throw new ChecksumMismatchException(stored.File, key, block, stored.Offset + (long)block * stored.BlockSize);
    }

    private static void ReadPiece(IBlobReader reader, XxHash3 hasher, long offset, Span<byte> into)
    {
        reader.ReadExactly(into, offset);
        hasher.Append(into);
    }

    private static void ReadThroughBuffer(ReadItem read, IBlobReader reader, Span<byte> window)
    {
        var length = checked((int)read.RangeLength);
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var bytes = buffer.AsSpan(0, length);
            reader.ReadExactly(bytes, read.Source.Bytes.Offset + read.RangeStart);
            Apply(read, bytes, window);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Verifies the bytes of <paramref name="read"/> (however they were fetched) against their
    /// block checksums and copies the read's region into <paramref name="window"/>, its
    /// destination's bytes from <see cref="ReadItem.DestinationStart"/> on (see <see cref="Window"/>);
    /// blocks that arrived as checked <paramref name="frames"/> are not hashed again (see <see cref="Verify"/>).
    /// </summary>
    public static void Apply(ReadItem read, ReadOnlySpan<byte> bytes, Span<byte> window, IReadOnlyList<CheckedFrame>? frames = null)
    {
        if (bytes.Length != read.RangeLength)
            throw new ActorCkptException($"'{read.Source.Bytes.File}': {bytes.Length} bytes arrived for '{read.Key}', {read.RangeLength} were read");
        Verify(bytes, read.Source.Bytes, read.FirstBlock, read.Key, frames);
        CopyRegion(read, bytes, window);
    }

    /// <summary>
    /// Copies the read's region from <paramref name="bytes"/> (the stored chunk from
    /// <see cref="ReadItem.RangeStart"/> on) into <paramref name="window"/> (see <see cref="Window"/>), unverified.
    /// </summary>
    public static void CopyRegion(ReadItem read, ReadOnlySpan<byte> bytes, Span<byte> window)
    {
        var size = DTypes.ElementSize(read.DType);
        BoxCopy.Copy(bytes, read.Source.Box.Lengths, read.RangeStart / size, read.Region.OffsetsWithin(read.Source.Box),
            window, read.TargetBox.Lengths, read.DestinationStart / size, read.Region.OffsetsWithin(read.TargetBox), read.Region.Lengths, size);
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
    /// <paramref name="stored"/>, against the recorded block checksums. A block that arrived as
    /// exactly one of <paramref name="frames"/> (checked on arrival, positions relative to
    /// <paramref name="bytes"/>, ascending) is proven by that frame's checksum, the same hash of the
    /// same bytes, and not hashed again; every other block is hashed here.
    /// </summary>
    public static void Verify(ReadOnlySpan<byte> bytes, StoredBytes stored, int firstBlock, string key, IReadOnlyList<CheckedFrame>? frames = null)
    {
        var size = stored.BlockSize;
        var f = 0;
        for (var b = 0; b * (long)size < bytes.Length; b++)
        {
            var start = b * size;
            var length = Math.Min(size, bytes.Length - start);
            while (frames is not null && f < frames.Count && frames[f].Position < start) f++;
            var sum = frames is not null && f < frames.Count && frames[f].Position == start && frames[f].Length == length
                ? frames[f].Checksum
                : BlockChecksums.Of(bytes.Slice(start, length));
            Check(stored, key, firstBlock + b, sum);
        }
    }
}

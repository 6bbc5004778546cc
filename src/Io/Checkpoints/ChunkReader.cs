using System.Buffers;

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
/// read in runs of blocks through a small reused buffer, each block verified while it is still in
/// the CPU cache and copied on; any other range is read whole into a buffer and copied element
/// run by element run. Any mismatch throws <see cref="ChecksumMismatchException"/> naming file and key.
/// </summary>
internal sealed class ChunkReader(CheckpointStore store)
{
    /// <summary>
    /// Reads every item of <paramref name="plan"/> into the destinations, <paramref name="parallelism"/>
    /// reads at a time; <paramref name="progress"/> hears, as each read completes, the destination bytes it filled.
    /// Once <paramref name="cancellation"/> is cancelled no read starts, and it throws when the reads under way are done.
    /// </summary>
    public void Read(LoadPlan plan, DestinationProvider destination, int parallelism, IProgress<long>? progress = null, CancellationToken cancellation = default) =>
        ParallelReads.ForEach(plan.Reads, f => AsDamage(plan.Step, f, () => store.Blobs.OpenRead(CheckpointLayout.InStep(plan.Step, f))), parallelism, (read, reader) =>
        {
            AsDamage(plan.Step, read.Source.Bytes.File, () => ReadOne(read, reader, destination));
            progress?.Report(read.DestinationBytes);
        }, cancellation);

    /// <summary><paramref name="read"/>'s result; a data file of <paramref name="step"/> missing or cut short is damage (<see cref="CheckpointFormatException.OfDataFile"/>).</summary>
    internal static T AsDamage<T>(long step, string file, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (CheckpointFormatException.OfDataFile(CheckpointLayout.InStep(step, file), e) is { } damage)
        {
            throw damage;
        }
    }

    /// <summary><see cref="AsDamage{T}"/> for a read that returns nothing.</summary>
    internal static void AsDamage(long step, string file, Action read) => AsDamage(step, file, () =>
    {
        read();
        return 0;
    });

    /// <summary>
    /// Reads <paramref name="read"/> from <paramref name="reader"/> (its data file) into its window of
    /// <paramref name="destination"/>, verifying every checksum block it read.
    /// </summary>
    public static void ReadOne(ReadItem read, IBlobReader reader, DestinationProvider destination)
    {
        var window = Window(read, destination);
        if (DirectOffset(read) is not null)
            ReadContiguous(read, reader, window);
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
    /// Reads the range through a reused buffer, whole blocks in runs of up to the reader's
    /// <see cref="IBlobReader.PreferredReadBytes"/> (small blocks must not mean small reads, least of
    /// all on an object store, where each read is a request) and a block the region only partly
    /// covers alone; verifies each block there, while it is in the CPU cache, and copies the
    /// region's part into <paramref name="target"/>. Not straight into the target: on some
    /// hypervisors (these machines' PVM guests) the kernel's first write into each page of a
    /// process's memory costs several microseconds even when the process has written the page
    /// itself, so a read into a tensor ran 12 times slower than the same read into a buffer the
    /// kernel had filled before (512 MiB from tmpfs: 0.95 s against 0.08 s), and a tensor a load
    /// fills is new to the kernel every time. The extra copy is from cache.
    /// </summary>
    private static void ReadContiguous(ReadItem read, IBlobReader reader, Span<byte> target)
    {
        var stored = read.Source.Bytes;
        var regionStart = Shapes.LinearIndex(read.Source.Box.Lengths, read.Region.OffsetsWithin(read.Source.Box)) * DTypes.ElementSize(read.DType);
        var regionEnd = regionStart + target.Length;
        var rangeEnd = read.RangeStart + read.RangeLength;
        var size = stored.BlockSize;
        var runBlocks = Math.Max(1, reader.PreferredReadBytes / size);
        var buffer = ArrayPool<byte>.Shared.Rent(checked(runBlocks * size));
        try
        {
            var block = read.FirstBlock;
            while ((long)block * size < rangeEnd)
            {
                var blockStart = (long)block * size;
                var whole = blockStart >= regionStart ? (int)Math.Min(runBlocks, (regionEnd - blockStart) / size) : 0;
                var end = whole > 0 ? blockStart + (long)whole * size : Math.Min(blockStart + size, rangeEnd);
                var bytes = buffer.AsSpan(0, (int)(end - blockStart));
                reader.ReadExactly(bytes, stored.Offset + blockStart);
                for (var at = 0; at < bytes.Length; at += size)
                    Check(stored, read.Key, block++, BlockChecksums.Of(bytes.Slice(at, Math.Min(size, bytes.Length - at))));
                long from = Math.Max(blockStart, regionStart), to = Math.Min(end, regionEnd);
                if (to > from) bytes.Slice((int)(from - blockStart), (int)(to - from)).CopyTo(target[(int)(from - regionStart)..]);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Throws naming file, key and block when <paramref name="sum"/> is not block <paramref name="block"/>'s recorded checksum.</summary>
    private static void Check(StoredBytes stored, string key, int block, ulong sum)
    {
        if (block >= stored.BlockChecksums.Count || sum != stored.BlockChecksums[block])
            throw new ChecksumMismatchException(stored.File, key, block, stored.Offset + (long)block * stored.BlockSize);
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
        var file = CheckpointLayout.InStep(step, entry.Bytes.File);
        using var reader = AsDamage(step, entry.Bytes.File, () => store.Blobs.OpenRead(file));
        // The metadata's sizes are checked against the file before anything that large is allocated.
        var (offset, length) = (entry.Bytes.Offset, entry.Bytes.Length);
        if (offset < 0 || length < 0 || offset > reader.Length || length > reader.Length - offset)
            throw new CheckpointFormatException(file, $"entry '{entry.Key}' lies at {offset} + {length}, past the file's end ({reader.Length} bytes)");
        if (length > Array.MaxLength)
            throw new CheckpointFormatException(file, $"entry '{entry.Key}' is {length} bytes, more than one entry can hold ({Array.MaxLength})");
        var bytes = new byte[length];
        reader.ReadExactly(bytes, offset);
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

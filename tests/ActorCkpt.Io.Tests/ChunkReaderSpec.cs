using System.Runtime.InteropServices;

namespace ActorCkpt.Io.Tests;

public class ChunkReaderSpec : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(4, 3)]
    [InlineData(4, 5)]
    [InlineData(3, 1)]
    public void Reads_should_reshard_row_chunks_bit_exact(int savedOn, int loadedOn)
    {
        var store = new CheckpointStore(new LocalBlobStore(_dir.Path));
        // Small checksum blocks so partial reads start and end inside chunks.
        var values = SavedCheckpoint.Save(store, 2, savedOn, rows: 23, cols: 5, blockSize: 8);
        var md = store.ReadMetadata(2);

        for (var rank = 0; rank < loadedOn; rank++)
        {
            long start = rank * 23L / loadedOn, end = (rank + 1) * 23L / loadedOn;
            var wanted = new[] { new WantedChunk(0, "w", DType.Float32, new long[] { 23, 5 }, new TensorBox(new[] { start, 0L }, new[] { end - start, 5L })) };
            var dest = new float[(end - start) * 5];
            new ChunkReader(store).Read(LoadPlanner.Plan(md, wanted, StrictHandling.ReturnAll), (_, o, n) => MemoryMarshal.AsBytes(dest.AsSpan()).Slice((int)o, n), 3);

            Assert.Equal(values.Skip((int)start * 5).Take(dest.Length), dest);
        }
    }

    [Fact]
    public void Reads_should_fill_a_column_slice()
    {
        var store = new CheckpointStore(new LocalBlobStore(_dir.Path));
        var values = SavedCheckpoint.Save(store, 1, 2, rows: 6, cols: 4, blockSize: 8);
        var wanted = new[] { new WantedChunk(0, "w", DType.Float32, new long[] { 6, 4 }, new TensorBox(new long[] { 0, 1 }, new long[] { 6, 2 })) };
        var dest = new float[12];

        new ChunkReader(store).Read(LoadPlanner.Plan(store.ReadMetadata(1), wanted, StrictHandling.ReturnAll), (_, o, n) => MemoryMarshal.AsBytes(dest.AsSpan()).Slice((int)o, n), 2);

        var expected = Enumerable.Range(0, 6).SelectMany(r => new[] { values[r * 4 + 1], values[r * 4 + 2] });
        Assert.Equal(expected, dest);
    }

    [Theory]
    [InlineData(0L, 0L, 6L, 4L)]
    [InlineData(0L, 1L, 6L, 2L)]
    [InlineData(1L, 1L, 4L, 3L)]
    public void Reads_cut_to_a_read_limit_should_ask_only_for_windows_within_it_and_fill_the_destination(long row, long col, long rows, long cols)
    {
        // A destination too large for one span is handed out a window at a time: reads cut to
        // 24 bytes (one block is 8) must never ask for more, and must still fill it bit-exact.
        var store = new CheckpointStore(new LocalBlobStore(_dir.Path));
        var values = SavedCheckpoint.Save(store, 1, 3, rows: 6, cols: 4, blockSize: 8);
        var box = new TensorBox(new[] { row, col }, new[] { rows, cols });
        var plan = LoadPlanner.Plan(store.ReadMetadata(1), new[] { new WantedChunk(0, "w", DType.Float32, new long[] { 6, 4 }, box) },
            StrictHandling.ReturnAll, maxReadBytes: 24);
        var dest = new float[rows * cols];
        var windows = new System.Collections.Concurrent.ConcurrentBag<int>();

        new ChunkReader(store).Read(plan, (_, o, n) =>
        {
            windows.Add(n);
            return MemoryMarshal.AsBytes(dest.AsSpan()).Slice((int)o, n);
        }, 2);

        Assert.All(windows, n => Assert.InRange(n, 1, 24));
        var expected = Enumerable.Range((int)row, (int)rows).SelectMany(r => Enumerable.Range((int)col, (int)cols).Select(c => values[r * 4 + c]));
        Assert.Equal(expected, dest);
    }

    [Fact]
    public void Reads_whose_region_is_one_run_in_both_layouts_should_go_straight_into_the_destination()
    {
        var store = new CheckpointStore(new LocalBlobStore(_dir.Path));
        SavedCheckpoint.Save(store, 1, 2, rows: 6, cols: 4, blockSize: 32);
        var md = store.ReadMetadata(1);
        LoadPlan Plan(TensorBox box) =>
            LoadPlanner.Plan(md, new[] { new WantedChunk(0, "w", DType.Float32, new long[] { 6, 4 }, box) }, StrictHandling.ReturnAll);

        // The whole tensor on one rank: each saved row chunk lands at its rows' place.
        var whole = Plan(TensorBox.Whole(new long[] { 6, 4 }));
        Assert.Equal(new long?[] { 0, 3 * 4 * 4 }, whole.Reads.OrderBy(r => r.Region.Offsets[0]).Select(ChunkReader.DirectOffset));
        // Rows 1..4: rows 1-2 start inside a 32-byte block of the first chunk (that read takes the
        // whole block around them and verifies it); rows 3-4 follow them.
        var partial = Plan(new TensorBox(new long[] { 1, 0 }, new long[] { 4, 4 }));
        Assert.Equal(new long?[] { 0, 2 * 4 * 4 }, partial.Reads.OrderBy(r => r.Region.Offsets[0]).Select(ChunkReader.DirectOffset));
        // A column slice is not one run in the file.
        Assert.All(Plan(new TensorBox(new long[] { 0, 1 }, new long[] { 6, 2 })).Reads, r => Assert.Null(ChunkReader.DirectOffset(r)));
    }

    [Fact]
    public void Objects_should_read_back_verified()
    {
        var store = new CheckpointStore(new LocalBlobStore(_dir.Path));
        SavedCheckpoint.Save(store, 1, 2);
        var md = store.ReadMetadata(1);

        var rank1 = md.Objects.Single(o => o.Rank == 1);

        Assert.Equal(new byte[] { 1, 1, 2, 3 }, new ChunkReader(store).ReadObject(1, rank1));
    }

    [Fact]
    public void An_entry_whose_recorded_size_the_file_or_an_array_cannot_hold_should_be_refused_before_it_is_allocated()
    {
        var store = new CheckpointStore(new LocalBlobStore(_dir.Path));
        SavedCheckpoint.Save(store, 1, 2);
        var entry = store.ReadMetadata(1).Objects.Single(o => o.Rank == 1);
        var file = CheckpointLayout.InStep(1, entry.Bytes.File);
        var fileLength = new FileInfo(Path.Combine(_dir.Path, file)).Length;
        var past = entry with { Bytes = entry.Bytes with { Length = (long)int.MaxValue + 8 } };

        var e = Assert.Throws<CheckpointFormatException>(() => new ChunkReader(store).ReadObject(1, past));

        Assert.Equal($"'{file}': entry '{entry.Key}' lies at {entry.Bytes.Offset} + {(long)int.MaxValue + 8}, past the file's end ({fileLength} bytes)", e.Message);

        // A file that does hold that many bytes (sparse): refused as too large for one entry, not an OverflowException.
        using (var grown = File.OpenWrite(Path.Combine(_dir.Path, file))) grown.SetLength(entry.Bytes.Offset + (long)int.MaxValue + 8);
        var large = Assert.Throws<CheckpointFormatException>(() => new ChunkReader(store).ReadObject(1, past));
        Assert.Equal($"'{file}': entry '{entry.Key}' is {(long)int.MaxValue + 8} bytes, more than one entry can hold ({Array.MaxLength})", large.Message);
    }

    /// <summary>Three blocks of 8 bytes and a tail of 5, stored at offset 0 of "f", with their checksums.</summary>
    private static (byte[] Bytes, StoredBytes Stored) Blocks()
    {
        var bytes = Enumerable.Range(0, 29).Select(i => (byte)(i * 7 + 1)).ToArray();
        var sums = Enumerable.Range(0, 4).Select(b => BlockChecksums.Of(bytes.AsSpan(b * 8, Math.Min(8, 29 - b * 8)))).ToArray();
        return (bytes, new StoredBytes("f", 0, 29, 8, sums));
    }

    private static CheckedFrame Frame(byte[] bytes, int at, int length) => new(at, length, BlockChecksums.Of(bytes.AsSpan(at, length)));

    [Fact]
    public void A_block_that_arrived_as_one_checked_frame_should_be_proven_by_the_frames_checksum_and_not_hashed_again()
    {
        var (bytes, stored) = Blocks();
        var frames = new[] { Frame(bytes, 0, 8), Frame(bytes, 8, 8), Frame(bytes, 16, 8), Frame(bytes, 24, 5) };
        ChunkReader.Verify(bytes, stored, 0, "w", frames);

        // The frame's checksum is what arrived: one that differs from the block's is a mismatch, whatever the span holds now.
        var wrong = frames.Select((f, i) => i == 2 ? f with { Checksum = f.Checksum ^ 1 } : f).ToArray();
        Assert.Equal(2, Assert.Throws<ChecksumMismatchException>(() => ChunkReader.Verify(bytes, stored, 0, "w", wrong)).Block);

        // And the span is not hashed again where a frame proved the block (the frame was checked on arrival).
        var changedAfter = (byte[])bytes.Clone();
        changedAfter[9] ^= 0xFF;
        ChunkReader.Verify(changedAfter, stored, 0, "w", frames);
    }

    [Fact]
    public void A_block_no_frame_matches_exactly_should_be_hashed_and_a_corrupted_one_refused()
    {
        var (bytes, stored) = Blocks();
        var corrupted = (byte[])bytes.Clone();
        corrupted[9] ^= 0xFF;

        // No frames; a frame over two blocks; frames of other lengths at the block's start: block 1 is hashed each time.
        foreach (var frames in new[] { null, new[] { Frame(corrupted, 0, 16) }, new[] { Frame(corrupted, 0, 8), Frame(corrupted, 8, 4), Frame(corrupted, 12, 17) } })
            Assert.Equal(1, Assert.Throws<ChecksumMismatchException>(() => ChunkReader.Verify(corrupted, stored, 0, "w", frames)).Block);

        // Frames start at the span's first byte: a span that starts at block 2 matches frames to blocks 2 and 3.
        ChunkReader.Verify(bytes.AsSpan(16), stored, 2, "w", new[] { Frame(bytes, 16, 8) with { Position = 0 }, Frame(bytes, 24, 5) with { Position = 8 } });
    }
}

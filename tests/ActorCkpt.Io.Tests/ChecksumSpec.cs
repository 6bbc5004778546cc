
namespace ActorCkpt.Io.Tests;

public class ChecksumSpec : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static void FlipByteOf(string path, long offset)
    {
        using var f = File.Open(path, FileMode.Open, FileAccess.ReadWrite);
        f.Position = offset;
        var b = f.ReadByte();
        f.Position = offset;
        f.WriteByte((byte)(b ^ 0xFF));
    }

    private (CheckpointStore Store, CheckpointMetadata Metadata) SavedAndCorrupted()
    {
        var store = new CheckpointStore(new LocalBlobStore(_dir.Path));
        SavedCheckpoint.Save(store, 1, world: 2);
        var md = store.ReadMetadata(1);
        var chunk = md.Tensors["w"].Chunks.Single(c => c.Rank == 1);
        FlipByteOf(Path.Combine(_dir.Path, "step-00000001", chunk.Bytes.File), chunk.Bytes.Offset + 5);
        return (store, md);
    }

    [Fact]
    public void Verify_should_name_the_file_and_tensor_of_a_corrupted_byte()
    {
        var (store, md) = SavedAndCorrupted();
        var file = md.Tensors["w"].Chunks.Single(c => c.Rank == 1).Bytes.File;

        var failure = Assert.Single(CheckpointVerifier.Verify(store, 1));

        Assert.Equal(file, failure.File);
        Assert.Equal("w", failure.Key);
        Assert.Contains("checksum mismatch", failure.Problem);
    }

    [Fact]
    public void Verify_of_an_intact_checkpoint_should_find_nothing()
    {
        var store = new CheckpointStore(new LocalBlobStore(_dir.Path));
        SavedCheckpoint.Save(store, 1, world: 3);

        Assert.Empty(CheckpointVerifier.Verify(store, 1));
    }

    [Fact]
    public void Verify_should_report_a_missing_data_file()
    {
        var store = new CheckpointStore(new LocalBlobStore(_dir.Path));
        SavedCheckpoint.Save(store, 1, world: 2);
        var file = store.ReadMetadata(1).Files[0].Name;
        File.Delete(Path.Combine(_dir.Path, "step-00000001", file));

        Assert.Equal(new VerificationFailure(file, "(file)", "missing"), Assert.Single(CheckpointVerifier.Verify(store, 1)));
    }

    [Fact]
    public void Loading_a_corrupted_range_should_fail_naming_file_and_tensor()
    {
        var (store, md) = SavedAndCorrupted();
        var plan = LoadPlanner.Plan(md, new[]
        {
            new WantedChunk(0, "w", DType.Float32, new long[] { 8, 4 }, TensorBox.Whole(new long[] { 8, 4 })),
            new WantedChunk(1, "b", DType.Float32, new long[] { 3 }, TensorBox.Whole(new long[] { 3 })),
        }, StrictHandling.RaiseAll);
        var w = new byte[8 * 4 * 4];
        var b = new byte[12];

        var e = Assert.Throws<ChecksumMismatchException>(() => new ChunkReader(store).Read(plan, (i, o, n) => (i == 0 ? w : b).AsSpan((int)o, n), 2));

        Assert.Equal("w", e.Key);
        Assert.Equal(md.Tensors["w"].Chunks.Single(c => c.Rank == 1).Bytes.File, e.File);
    }

    [Fact]
    public void A_corrupted_block_among_whole_blocks_read_in_one_run_should_be_named()
    {
        var store = new CheckpointStore(new LocalBlobStore(_dir.Path));
        SavedCheckpoint.Save(store, 1, world: 2, rows: 64, cols: 8, blockSize: 64);
        var md = store.ReadMetadata(1);
        var chunk = md.Tensors["w"].Chunks.Single(c => c.Rank == 1);
        // Block 5 of the chunk's 16: the whole chunk is one run of whole blocks in one read.
        FlipByteOf(Path.Combine(_dir.Path, "step-00000001", chunk.Bytes.File), chunk.Bytes.Offset + 5 * 64 + 7);
        var plan = LoadPlanner.Plan(md, new[] { new WantedChunk(0, "w", DType.Float32, new long[] { 64, 8 }, TensorBox.Whole(new long[] { 64, 8 })) },
            StrictHandling.ReturnAll);

        var e = Assert.Throws<ChecksumMismatchException>(() => new ChunkReader(store).Read(plan, (_, o, n) => new byte[64 * 8 * 4].AsSpan((int)o, n), 2));

        Assert.Equal(("w", chunk.Bytes.File, 5), (e.Key, e.File, e.Block));
    }

    [Fact]
    public void A_corrupted_byte_outside_the_region_in_a_block_the_region_partly_covers_should_be_named()
    {
        var store = new CheckpointStore(new LocalBlobStore(_dir.Path));
        SavedCheckpoint.Save(store, 1, world: 2, rows: 64, cols: 8, blockSize: 64);
        var md = store.ReadMetadata(1);
        var chunk = md.Tensors["w"].Chunks.Single(c => c.Rank == 1);
        // Rows 32..63 are rank 1's; the load wants rows 33..40, so its region starts 32 bytes into
        // block 0 of the chunk. The corrupted byte is in row 32: read only to verify block 0.
        FlipByteOf(Path.Combine(_dir.Path, "step-00000001", chunk.Bytes.File), chunk.Bytes.Offset + 3);
        var box = new TensorBox(new long[] { 33, 0 }, new long[] { 8, 8 });
        var plan = LoadPlanner.Plan(md, new[] { new WantedChunk(0, "w", DType.Float32, new long[] { 64, 8 }, box) }, StrictHandling.ReturnAll);
        Assert.NotNull(ChunkReader.DirectOffset(Assert.Single(plan.Reads)));

        var e = Assert.Throws<ChecksumMismatchException>(() => new ChunkReader(store).Read(plan, (_, o, n) => new byte[8 * 8 * 4].AsSpan((int)o, n), 2));

        Assert.Equal(("w", chunk.Bytes.File, 0), (e.Key, e.File, e.Block));
    }

    [Theory]
    [InlineData(100, 1 << 20, 64 << 10)]
    [InlineData(2L << 20, 1 << 20, 128 << 10)]
    [InlineData((2L << 20) + 1, 1 << 20, (128 << 10) + 4096)]
    [InlineData(1L << 30, 1 << 20, 1 << 20)]
    [InlineData(1L << 30, 8, 8)]
    public void Block_size_should_be_a_sixteenth_of_the_item_in_whole_pages_within_bounds(long length, int max, int expected)
    {
        Assert.Equal(expected, BlockChecksums.SizeFor(length, max));
    }

    [Fact]
    public void Block_checksums_should_cover_a_partial_last_block()
    {
        var data = Enumerable.Range(0, 10_000).Select(i => (byte)i).ToArray();

        var sums = BlockChecksums.Compute(data, 4096);

        Assert.Equal(3, sums.Length);
        Assert.Equal(BlockChecksums.Of(data.AsSpan(8192)), sums[2]);
    }
}

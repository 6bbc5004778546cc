
namespace ActorCkpt.Io.Tests;

/// <summary>
/// A data file is checksummed and written piece by piece (<see cref="DataFileStreamWriter.PieceSize"/>),
/// the checksum of each piece taken just before it is written: the checksums recorded must be those of
/// the bytes in the file, block by block, whether blocks are larger or smaller than a piece and
/// wherever the writer's pieces and the caller's chunks fall.
/// </summary>
public class DataFilePieceSpec : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Items whose blocks are larger than a piece (1 MiB), smaller (64 KiB), and not a whole number of either.</summary>
    private static FileWritePlan Plan(string name) => new(name, 0, 0, new[]
    {
        WriteItem.ForTensor("big", 0, 0, DType.UInt8, new long[] { (20 << 20) + 12345 }, TensorBox.Whole(new long[] { (20 << 20) + 12345 })),
        WriteItem.ForTensor("small", 0, 1, DType.UInt8, new long[] { 300_001 }, TensorBox.Whole(new long[] { 300_001 })),
        WriteItem.ForTensor("mid", 0, 2, DType.Float32, new long[] { 1_000_003 }, TensorBox.Whole(new long[] { 1_000_003 })),
    });

    private static byte[][] Data(FileWritePlan plan)
    {
        var random = new Random(7);
        return plan.Items.Select(i => { var b = new byte[i.ByteLength]; random.NextBytes(b); return b; }).ToArray();
    }

    /// <summary>The bytes of <paramref name="stored"/> read back from the file, with the checksums of its blocks.</summary>
    private (byte[] Bytes, ulong[] Sums) ReadBack(StoredBytes stored)
    {
        var file = File.ReadAllBytes(Path.Combine(_dir.Path, "s", stored.File));
        var bytes = file.AsSpan((int)stored.Offset, (int)stored.Length).ToArray();
        return (bytes, BlockChecksums.Compute(bytes, stored.BlockSize));
    }

    [Fact]
    public void Checksums_recorded_for_whole_buffers_should_be_those_of_the_bytes_in_the_file()
    {
        var store = new LocalBlobStore(_dir.Path);
        store.CreateDirectory("s");
        var plan = Plan("whole.safetensors");
        var data = Data(plan);

        var result = DataFileBufferWriter.Write(store, "s", plan, data.Select(d => (ReadOnlyMemory<byte>)d).ToArray(), 1 << 20, new Dictionary<string, string>());

        Assert.Equal(new[] { 1 << 20, BlockChecksums.MinBlockSize, 62 * 4096 }, result.Items.Select(i => i.Bytes.BlockSize));
        for (var i = 0; i < data.Length; i++)
        {
            var (bytes, sums) = ReadBack(result.Items[i].Bytes);
            Assert.True(bytes.AsSpan().SequenceEqual(data[i]), $"item {i} is not the bytes given");
            Assert.Equal(sums, result.Items[i].Bytes.BlockChecksums);
        }
    }

    [Fact]
    public void Checksums_recorded_for_chunks_across_pieces_and_blocks_should_be_those_of_the_bytes_in_the_file()
    {
        var store = new LocalBlobStore(_dir.Path);
        store.CreateDirectory("s");
        var plan = Plan("chunks.safetensors");
        var data = Data(plan);
        FileWriteResult result;
        using (var file = new DataFileStreamWriter(store, "s", plan, 1 << 20, new Dictionary<string, string>()))
        {
            // Chunks as a remote rank sends them: items interleaved, sizes that fall across pieces and blocks.
            var sizes = new[] { 700_001, 65_537, 262_143, 1_048_577, 3 };
            var at = new int[data.Length];
            for (var turn = 0; at.Where((a, i) => a < data[i].Length).Any(); turn++)
                for (var i = 0; i < data.Length; i++)
                {
                    var n = Math.Min(sizes[(turn + i) % sizes.Length], data[i].Length - at[i]);
                    if (n == 0) continue;
                    file.Append(i, at[i], data[i].AsSpan(at[i], n));
                    at[i] += n;
                }
            result = file.Complete();
        }

        for (var i = 0; i < data.Length; i++)
        {
            var (bytes, sums) = ReadBack(result.Items[i].Bytes);
            Assert.True(bytes.AsSpan().SequenceEqual(data[i]), $"item {i} is not the bytes given");
            Assert.Equal(sums, result.Items[i].Bytes.BlockChecksums);
        }
    }
}

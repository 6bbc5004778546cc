
namespace ActorCkpt.Io.Tests;

public class DataFileStreamWriterSpec : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static FileWritePlan Plan(string name) => new(name, 0, 0, new[]
    {
        WriteItem.ForTensor("a", 0, 0, DType.Float32, new long[] { 5000 }, TensorBox.Whole(new long[] { 5000 })),
        WriteItem.ForTensor("b", 0, 1, DType.UInt8, new long[] { 777 }, TensorBox.Whole(new long[] { 777 })),
    });

    [Fact]
    public void Pieces_in_any_size_should_give_the_same_file_and_checksums_as_one_write()
    {
        var store = new LocalBlobStore(_dir.Path);
        store.CreateDirectory("s");
        var random = new Random(3);
        var data = Plan("x").Items.Select(i => { var b = new byte[i.ByteLength]; random.NextBytes(b); return b; }).ToArray();
        var meta = new Dictionary<string, string> { ["format"] = "pt" };

        var whole = DataFileBufferWriter.Write(store, "s", Plan("one.safetensors"), data.Select(d => (ReadOnlyMemory<byte>)d).ToArray(), 4096, meta);
        FileWriteResult pieces;
        using (var file = new DataFileStreamWriter(store, "s", Plan("many.safetensors"), 4096, meta))
        {
            // Interleaved items, odd piece sizes that straddle block boundaries.
            int a = 0, b = 0;
            while (a < data[0].Length || b < data[1].Length)
            {
                var na = Math.Min(3001, data[0].Length - a);
                if (na > 0) file.Append(0, a, data[0].AsSpan(a, na));
                a += na;
                var nb = Math.Min(100, data[1].Length - b);
                if (nb > 0) file.Append(1, b, data[1].AsSpan(b, nb));
                b += nb;
            }
            pieces = file.Complete();
        }

        Assert.Equal(File.ReadAllBytes(Path.Combine(_dir.Path, "s", "one.safetensors")), File.ReadAllBytes(Path.Combine(_dir.Path, "s", "many.safetensors")));
        Assert.Equal(whole.Items.SelectMany(i => i.Bytes.BlockChecksums), pieces.Items.SelectMany(i => i.Bytes.BlockChecksums));
        Assert.Equal(BlockChecksums.Compute(data[0], 4096), pieces.Items[0].Bytes.BlockChecksums);
    }

    [Fact]
    public void A_piece_out_of_order_or_a_missing_piece_should_be_refused_naming_the_item()
    {
        var store = new LocalBlobStore(_dir.Path);
        store.CreateDirectory("s");
        using var file = new DataFileStreamWriter(store, "s", Plan("f.safetensors"), 4096, new Dictionary<string, string>());
        file.Append(0, 0, new byte[100]);

        var gap = Assert.Throws<ActorCkptException>(() => file.Append(0, 200, new byte[10]));
        var incomplete = Assert.Throws<ActorCkptException>(() => file.Complete());

        Assert.Contains("piece of 'a' at 200+10 does not follow the 100 bytes received", gap.Message);
        Assert.Contains("'a' got 100 of its 20000 bytes", incomplete.Message);
    }
}

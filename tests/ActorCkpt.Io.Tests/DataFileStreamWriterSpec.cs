
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

    [Fact]
    public void The_overload_with_explicit_block_sizes_should_write_the_same_bytes_as_the_constructor_it_serves()
    {
        var store = new LocalBlobStore(_dir.Path);
        store.CreateDirectory("s");
        var random = new Random(5);
        var data = Plan("x").Items.Select(i => { var b = new byte[i.ByteLength]; random.NextBytes(b); return b; }).ToArray();
        var meta = new Dictionary<string, string> { ["format"] = "pt" };
        FileWriteResult Write(DataFileStreamWriter file)
        {
            using (file)
            {
                for (var i = 0; i < data.Length; i++) file.Append(i, 0, data[i]);
                return file.Complete();
            }
        }

        var old = Write(new DataFileStreamWriter(store, "s", Plan("old.safetensors"), 4096, meta));
        var sizes = Plan("x").Items.Select(i => BlockChecksums.SizeFor(i.ByteLength, 4096)).ToArray();
        var overload = Write(new DataFileStreamWriter(store.Create("s/new.safetensors"), Plan("new.safetensors"), sizes, meta));
        var odd = Write(new DataFileStreamWriter(store.Create("s/odd.safetensors"), Plan("odd.safetensors"), new[] { 3000, 100 }, meta));

        var oldBytes = File.ReadAllBytes(Path.Combine(_dir.Path, "s", "old.safetensors"));
        Assert.Equal(oldBytes, File.ReadAllBytes(Path.Combine(_dir.Path, "s", "new.safetensors")));
        Assert.Equal(oldBytes, File.ReadAllBytes(Path.Combine(_dir.Path, "s", "odd.safetensors")));
        Assert.Equal(old.Items.Select(i => (i.Bytes.Offset, i.Bytes.Length, i.Bytes.BlockSize)), overload.Items.Select(i => (i.Bytes.Offset, i.Bytes.Length, i.Bytes.BlockSize)));
        Assert.Equal(old.Items.SelectMany(i => i.Bytes.BlockChecksums), overload.Items.SelectMany(i => i.Bytes.BlockChecksums));
        Assert.Equal((old.Length, old.HeaderChecksum), (overload.Length, overload.HeaderChecksum));
        Assert.Equal(new[] { 3000, 100 }, odd.Items.Select(i => i.Bytes.BlockSize));
        Assert.Equal(BlockChecksums.Compute(data[0], 3000), odd.Items[0].Bytes.BlockChecksums);
        Assert.Equal(BlockChecksums.Compute(data[1], 100), odd.Items[1].Bytes.BlockChecksums);

        var wrong = Assert.Throws<ArgumentException>(() => new DataFileStreamWriter(store.Create("s/bad.safetensors"), Plan("bad.safetensors"), new[] { 4096 }, meta));
        Assert.StartsWith("'bad.safetensors': 1 block sizes for 2 items, each must be positive (4096)", wrong.Message);
    }
}

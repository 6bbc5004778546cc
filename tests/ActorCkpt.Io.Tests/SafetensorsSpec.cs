using System.Buffers.Binary;
using System.Text.Json;

namespace ActorCkpt.Io.Tests;

public class SafetensorsSpec : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private FileWriteResult WriteSample(LocalBlobStore store)
    {
        store.CreateDirectory("s");
        var items = new[]
        {
            WriteItem.ForTensor("a", 0, 0, DType.Float32, new long[] { 2, 3 }, TensorBox.Whole(new long[] { 2, 3 })),
            WriteItem.ForTensor("b", 0, 1, DType.BFloat16, new long[] { 10, 5 }, new TensorBox(new long[] { 4, 0 }, new long[] { 3, 5 })),
            WriteItem.ForObject("iteration", 0, 2, ObjectScope.Global, 5),
        };
        var data = items.Select(i => (ReadOnlyMemory<byte>)Enumerable.Range(0, (int)i.ByteLength).Select(b => (byte)(b + i.Index)).ToArray()).ToArray();
        return DataFileBufferWriter.Write(store, "s", new FileWritePlan("f.safetensors", 0, 0, items), data, 4096,
            new Dictionary<string, string> { ["format"] = "pt", ["actorckpt.step"] = "3" });
    }

    [Fact]
    public void Data_file_should_follow_the_safetensors_layout()
    {
        var store = new LocalBlobStore(_dir.Path);
        var result = WriteSample(store);
        var bytes = File.ReadAllBytes(Path.Combine(_dir.Path, "s", "f.safetensors"));

        // Parsed here by the format's rules, independently of the code under test.
        var n = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, (8 + n) % 8);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, (int)n));
        var root = header.RootElement;
        Assert.Equal("pt", root.GetProperty("__metadata__").GetProperty("format").GetString());
        Assert.Equal("3", root.GetProperty("__metadata__").GetProperty("actorckpt.step").GetString());
        Assert.Equal("F32", root.GetProperty("a").GetProperty("dtype").GetString());
        Assert.Equal(new long[] { 3, 5 }, root.GetProperty("b@4,0").GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
        var offsets = root.EnumerateObject().Where(p => p.Name != "__metadata__")
            .Select(p => p.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray())
            .OrderBy(o => o[0]).ToList();
        Assert.Equal(0, offsets[0][0]);
        for (var i = 1; i < offsets.Count; i++) Assert.Equal(offsets[i - 1][1], offsets[i][0]);
        Assert.Equal(bytes.Length, 8 + n + offsets[^1][1]);
        Assert.Equal(bytes.Length, result.Length);
        Assert.Equal(Enumerable.Range(0, 24).Select(b => (byte)b), bytes.Skip(8 + (int)n).Take(24));
        Assert.Equal("__object__/iteration", result.Items[2].StorageName);
    }

    [Fact]
    public void Header_padding_should_be_spaces()
    {
        WriteSample(new LocalBlobStore(_dir.Path));
        var bytes = File.ReadAllBytes(Path.Combine(_dir.Path, "s", "f.safetensors"));
        var n = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var json = System.Text.Encoding.UTF8.GetString(bytes, 8, n);

        var trimmed = json.TrimEnd(' ');
        Assert.EndsWith("}", trimmed);
        // Just enough spaces to start the data at a multiple of 8.
        Assert.Equal((8 - (8 + trimmed.Length) % 8) % 8, json.Length - trimmed.Length);
    }

    [Fact]
    public void Reading_the_header_back_should_give_the_entries()
    {
        var store = new LocalBlobStore(_dir.Path);
        WriteSample(store);
        using var reader = store.OpenRead("s/f.safetensors");

        var header = SafetensorsHeader.Read(reader, "f.safetensors");

        Assert.Equal(new[] { "a", "b@4,0", "__object__/iteration" }, header.Entries.Select(e => e.Name));
        Assert.Equal(DType.BFloat16, header.Entries[1].DType);
        Assert.Equal("pt", header.Metadata["format"]);
    }

    [Fact]
    public void A_header_with_a_gap_between_tensors_should_be_refused()
    {
        var e = Refused("""{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[3,5]}}""", dataBytes: 5);

        Assert.Contains("'bad.safetensors': tensor 'b' starts at 3, expected 2", e.Message);
    }

    [Theory]
    // Before: "tensor '__metadataX_' has a malformed entry: The given key was not present in the dictionary."
    [InlineData("""{"__metadataX_":{"format":"pt"},"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}""", "tensor '__metadataX_' has no 'dtype'")]
    [InlineData("""{"a":{"dtype":"U8","data_offsets":[0,2]}}""", "tensor 'a' has no 'shape'")]
    [InlineData("""{"a":[1,2]}""", "tensor 'a' is not an object of dtype, shape and data_offsets")]
    public void An_entry_lacking_a_field_should_be_refused_naming_it(string json, string problem)
    {
        var e = Refused(json.PadRight((json.Length + 7) / 8 * 8), dataBytes: 2);

        Assert.Equal($"'bad.safetensors': {problem}", e.Message);
    }

    [Theory]
    [InlineData("""{"a":{"dtype":"U8","dtype":"I32","shape":[2],"data_offsets":[0,2]}}""", "tensor 'a' has 'dtype' twice")]
    [InlineData("""{"__metadata__":{"format":"pt","format":"np"},"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}""", "__metadata__ has 'format' twice")]
    public void A_field_named_twice_inside_an_entry_should_be_refused_as_a_name_twice_is(string json, string problem)
    {
        // JsonElement.GetProperty takes the last of two silently; Python's safetensors refuses the file.
        var e = Refused(json.PadRight((json.Length + 7) / 8 * 8), dataBytes: 2);

        Assert.Equal($"'bad.safetensors': {problem}", e.Message);
    }

    /// <summary>Reads the header of a file "bad.safetensors" of header <paramref name="json"/> and <paramref name="dataBytes"/> bytes of data; the refusal.</summary>
    private CheckpointFormatException Refused(string json, int dataBytes)
    {
        var bytes = new byte[8 + json.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
        System.Text.Encoding.ASCII.GetBytes(json).CopyTo(bytes, 8);
        File.WriteAllBytes(Path.Combine(_dir.Path, "bad.safetensors"), bytes);
        using var reader = new LocalBlobStore(_dir.Path).OpenRead("bad.safetensors");
        return Assert.Throws<CheckpointFormatException>(() => SafetensorsHeader.Read(reader, "bad.safetensors"));
    }

    [Fact]
    public void A_header_its_own_reader_would_refuse_should_not_be_built()
    {
        var reserved = Assert.Throws<ArgumentException>(() => SafetensorsHeader.Build([("__metadata__", DType.Float32, new long[] { 1 })], new Dictionary<string, string>()));
        var twice = Assert.Throws<ArgumentException>(() => SafetensorsHeader.Build([("a", DType.Float32, new long[] { 1 }), ("a", DType.UInt8, new long[] { 4 })], new Dictionary<string, string>()));

        Assert.StartsWith("'__metadata__' is reserved in a safetensors header", reserved.Message);
        Assert.StartsWith("'a' is named twice", twice.Message);
    }

    [Fact]
    public void A_truncated_file_should_be_refused()
    {
        var store = new LocalBlobStore(_dir.Path);
        WriteSample(store);
        var path = Path.Combine(_dir.Path, "s", "f.safetensors");
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^3]);
        using var reader = store.OpenRead("s/f.safetensors");

        Assert.Throws<CheckpointFormatException>(() => SafetensorsHeader.Read(reader, "f.safetensors"));
    }
}

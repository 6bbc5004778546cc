using System.Buffers.Binary;
using System.Text.Json;

namespace ActorCkpt.Io.Tests;

public class ExportSpec : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Out => Path.Combine(_dir.Path, "hf");

    private (CheckpointStore Store, float[] W) Saved()
    {
        var store = new CheckpointStore(new LocalBlobStore(Path.Combine(_dir.Path, "ckpt")));
        var w = SavedCheckpoint.Save(store, 1, world: 3);
        return (store, w);
    }

    /// <summary>Parses a file by the safetensors rules (independently of the code under test): its tensors' dtype, shape and bytes.</summary>
    private static Dictionary<string, (string DType, long[] Shape, byte[] Bytes)> Parse(string path, out JsonElement metadata)
    {
        var bytes = File.ReadAllBytes(path);
        var n = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, (int)n));
        metadata = header.RootElement.GetProperty("__metadata__").Clone();
        var tensors = header.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__")
            .Select(p => (p.Name, DType: p.Value.GetProperty("dtype").GetString()!,
                Shape: p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray(),
                Offsets: p.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray()))
            .OrderBy(t => t.Offsets[0]).ToList();
        if (tensors.Count == 0)
        {
            Assert.Equal(bytes.Length, 8 + n);
            return new();
        }
        Assert.Equal(0, tensors[0].Offsets[0]);
        for (var i = 1; i < tensors.Count; i++) Assert.Equal(tensors[i - 1].Offsets[1], tensors[i].Offsets[0]);
        Assert.Equal(bytes.Length, 8 + n + tensors[^1].Offsets[1]);
        foreach (var t in tensors)
            Assert.Equal(t.Shape.Aggregate(1L, (a, b) => a * b) * (t.DType == "BF16" ? 2 : 4), t.Offsets[1] - t.Offsets[0]);
        return tensors.ToDictionary(t => t.Name, t => (t.DType, t.Shape, bytes.AsSpan((int)(8 + n + t.Offsets[0]), (int)(t.Offsets[1] - t.Offsets[0])).ToArray()));
    }

    private static byte[] Bytes(IEnumerable<float> values) => values.SelectMany(BitConverter.GetBytes).ToArray();

    [Fact]
    public void Export_and_unshard_should_refuse_metadata_that_changed_since_its_checks_and_write_nothing()
    {
        var (store, _) = Saved();
        var seen = CheckpointStore.Checksum(store.ReadMetadataBytes(1));
        var other = seen == "0000000000000000" ? "0000000000000001" : "0000000000000000";

        var exported = Assert.Throws<CheckpointFormatException>(() =>
            HuggingFaceExporter.Export(store, 1, Out, new ExportOptions() { MetadataChecksum = other }));
        var unsharded = Assert.Throws<CheckpointFormatException>(() =>
            Unsharder.Unshard(store, 1, Out, UnshardStrategy.OneFile, 1 << 20, optim: false, metadataChecksum: other));

        var expected = $"'step-00000001/metadata.json': its checksum {seen} differs from the {other} the catalog recorded at commit: the document was changed or corrupted";
        Assert.Equal((expected, expected), (exported.Message, unsharded.Message));
        Assert.False(Path.Exists(Out));
        Assert.DoesNotContain(Directory.GetFileSystemEntries(_dir.Path), e => Path.GetFileName(e).StartsWith(".hf", StringComparison.Ordinal));
    }

    [Fact]
    public void A_sharded_checkpoint_should_export_full_tensors_split_by_size_with_a_consistent_index()
    {
        var (store, w) = Saved();

        // b (12 bytes) fits the first file; w (128 bytes) would take it past 100 bytes, so it starts the second.
        var result = HuggingFaceExporter.Export(store, 1, Out, new ExportOptions(MaxShardBytes: 100));

        Assert.Equal(new[] { "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors" }, result.Files);
        var first = Parse(Path.Combine(Out, result.Files[0]), out var meta);
        var second = Parse(Path.Combine(Out, result.Files[1]), out _);
        Assert.Equal("pt", meta.GetProperty("format").GetString());
        Assert.Equal(Bytes(new[] { 2f, 2f, 3f }), first["b"].Bytes);
        Assert.Equal("F32", second["w"].DType);
        Assert.Equal(new long[] { 8, 4 }, second["w"].Shape);
        Assert.Equal(Bytes(w), second["w"].Bytes);
        using var index = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Out, HuggingFaceExporter.IndexFile)));
        Assert.Equal(140, index.RootElement.GetProperty("metadata").GetProperty("total_size").GetInt64());
        var map = index.RootElement.GetProperty("weight_map").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
        Assert.Equal(new Dictionary<string, string?> { ["b"] = result.Files[0], ["w"] = result.Files[1] }, map);
        Assert.Empty(Directory.GetFiles(Out, "*.tmp"));
    }

    [Fact]
    public void One_file_should_be_model_safetensors_without_an_index_and_entries_should_be_left_out()
    {
        var (store, w) = Saved();

        var result = HuggingFaceExporter.Export(store, 1, Out, new ExportOptions());

        Assert.Equal(new[] { "model.safetensors" }, result.Files);
        Assert.Null(result.Index);
        Assert.False(File.Exists(Path.Combine(Out, HuggingFaceExporter.IndexFile)));
        var tensors = Parse(Path.Combine(Out, "model.safetensors"), out _);
        Assert.Equal(new[] { "b", "w" }, tensors.Keys.Order());
        Assert.Equal(Bytes(w), tensors["w"].Bytes);
    }

    [Fact]
    public void With_a_reference_index_keys_should_keep_their_file_numbers_and_new_keys_go_to_the_last_file()
    {
        var (store, _) = Saved();
        var reference = Path.Combine(_dir.Path, "reference.index.json");
        File.WriteAllText(reference, """
            {"metadata": {"total_size": 1}, "weight_map": {"w": "model-00001-of-00003.safetensors", "gone": "model-00002-of-00003.safetensors"}}
            """);

        var result = HuggingFaceExporter.Export(store, 1, Out, new ExportOptions(ReferenceIndex: reference));

        // "w" keeps file 1; "gone" is not in the checkpoint, so file 2 holds nothing; "b" is new and goes last.
        Assert.Equal(new[] { "model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors" }, result.Files);
        Assert.Equal(new[] { "w" }, Parse(Path.Combine(Out, result.Files[0]), out _).Keys);
        Assert.Empty(Parse(Path.Combine(Out, result.Files[1]), out _));
        Assert.Equal(new[] { "b" }, Parse(Path.Combine(Out, result.Files[2]), out _).Keys);
        // And the result says so, for the tool's note.
        Assert.Equal(new[] { "gone" }, result.ReferenceKeysMissing);
        Assert.Equal(new[] { "model-00002-of-00003.safetensors" }, result.EmptyFiles);
    }

    [Fact]
    public void Exporting_as_bf16_should_round_each_value_to_nearest_even()
    {
        var (store, w) = Saved();

        var result = HuggingFaceExporter.Export(store, 1, Out, new ExportOptions(DType: ExportDType.BFloat16));

        var tensors = Parse(Path.Combine(Out, result.Files[0]), out _);
        Assert.Equal("BF16", tensors["w"].DType);
        // Reference: round to nearest even on the float's bits, written out longhand.
        var expected = w.SelectMany(v =>
        {
            var bits = BitConverter.SingleToUInt32Bits(v);
            var lower = bits & 0xFFFF;
            var upper = bits >> 16;
            if (lower > 0x8000 || (lower == 0x8000 && (upper & 1) == 1)) upper++;
            return BitConverter.GetBytes((ushort)upper);
        });
        Assert.Equal(expected, tensors["w"].Bytes);
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.BFloat16)]
    public void A_tensor_written_in_slabs_should_equal_it_written_at_once(DType dtype)
    {
        var store = new CheckpointStore(new LocalBlobStore(Path.Combine(_dir.Path, "ckpt")));
        var w = SavedCheckpoint.Save(store, 1, world: 3, rows: 10, cols: 6);
        var metadata = store.ReadMetadata(1);
        var file = new ExportFile("model.safetensors", [new ExportTensor("w", dtype, [10, 6]), new ExportTensor("b", dtype, [3])]);
        var output = new LocalBlobStore(Out);

        FullTensorFileWriter.Write(store, metadata, output, file);
        var atOnce = File.ReadAllBytes(Path.Combine(Out, file.Name));
        // 20 bytes: slabs of 5 float32 elements, which cut rows and cross the ranks' chunks.
        FullTensorFileWriter.Write(store, metadata, output, file, slabBytes: 20);

        Assert.Equal(atOnce, File.ReadAllBytes(Path.Combine(Out, file.Name)));
        if (dtype == DType.Float32) Assert.Equal(Bytes(w), Parse(Path.Combine(Out, file.Name), out _)["w"].Bytes);
    }
}

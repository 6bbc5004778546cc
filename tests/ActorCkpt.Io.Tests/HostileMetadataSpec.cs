using System.Text;
using System.Text.Json.Nodes;

namespace ActorCkpt.Io.Tests;

public class HostileMetadataSpec : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A real checkpoint's metadata, changed by <paramref name="edit"/>, parsed again.</summary>
    private CheckpointFormatException Tampered(Action<JsonNode> edit)
    {
        var store = new CheckpointStore(new LocalBlobStore(_dir.Path));
        SavedCheckpoint.Save(store, 1, world: 2, json: true);
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(_dir.Path, "step-00000001", "metadata.json")))!;
        edit(json);
        return Assert.Throws<CheckpointFormatException>(() => MetadataJson.Deserialize(Encoding.UTF8.GetBytes(json.ToJsonString()), "metadata.json"));
    }

    private static JsonNode FirstChunk(JsonNode md) => md["tensors"]!["w"]!["chunks"]![0]!;

    [Fact]
    public void A_file_name_escaping_the_step_directory_should_be_refused()
    {
        var e = Tampered(md =>
        {
            md["files"]![0]!["name"] = "../../etc/passwd";
            FirstChunk(md)["file"] = "../../etc/passwd";
        });

        Assert.Contains("'../../etc/passwd' is not a plain name", e.Message);
    }

    [Fact]
    public void A_zero_block_size_should_be_refused()
    {
        var e = Tampered(md => FirstChunk(md)["block_size"] = 0);

        Assert.Contains("checksum block size 0", e.Message);
    }

    [Fact]
    public void A_byte_range_past_the_end_of_its_file_should_be_refused()
    {
        var e = Tampered(md => FirstChunk(md)["offset"] = 1L << 40);

        Assert.Contains("lie outside file", e.Message);
    }

    [Fact]
    public void Overlapping_chunks_should_be_refused()
    {
        var e = Tampered(md => md["tensors"]!["w"]!["chunks"]![1]!["offsets"] = new JsonArray(1, 0));

        Assert.Contains("overlap", e.Message);
    }

    [Fact]
    public void A_length_that_does_not_match_the_shape_should_be_refused()
    {
        var e = Tampered(md => FirstChunk(md)["lengths"] = new JsonArray(1, 4));

        Assert.Contains("bytes recorded, its shape needs", e.Message);
    }

    [Fact]
    public void Byte_ranges_that_overlap_in_a_data_file_should_be_refused_naming_both_items()
    {
        string file = "";
        var e = Tampered(md =>
        {
            var w = FirstChunk(md);
            var b = md["tensors"]!["b"]!["chunks"]![0]!;
            file = w["file"]!.GetValue<string>();
            b["file"] = file;
            b["offset"] = w["offset"]!.GetValue<long>() + 4;
        });

        Assert.Matches($"'(w' and 'b|b' and 'w)' overlap in file '{file}'", e.Message);
    }

    [Theory]
    [InlineData("\"0123456789abcdefg\"")]
    [InlineData("\"0123456789abcdef0\"")]
    [InlineData("\"0x12\"")]
    [InlineData("\"\"")]
    [InlineData("12")]
    public void A_checksum_that_is_not_1_to_16_hex_digits_should_be_refused_naming_it(string checksum)
    {
        var e = Tampered(md => FirstChunk(md)["checksums"]![0] = JsonNode.Parse(checksum));

        Assert.Contains($"malformed metadata: checksum {checksum} is not 1 to 16 hex digits", e.Message);
    }

    [Theory]
    [InlineData("ffffffffffffffff", ulong.MaxValue)]
    [InlineData("0", 0UL)]
    [InlineData("00000000000000aB", 0xabUL)]
    public void A_checksum_should_be_read_back_as_the_number_its_digits_spell(string digits, ulong value)
    {
        var store = new CheckpointStore(new LocalBlobStore(_dir.Path));
        SavedCheckpoint.Save(store, 1, world: 2, json: true);
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(_dir.Path, "step-00000001", "metadata.json")))!;
        FirstChunk(json)["checksums"]![0] = digits;

        var chunk = MetadataJson.Deserialize(Encoding.UTF8.GetBytes(json.ToJsonString()), "metadata.json").Tensors["w"].Chunks[0];

        Assert.Equal(value, chunk.Bytes.BlockChecksums[0]);
    }

    [Fact]
    public void Committing_over_an_existing_metadata_file_should_be_refused()
    {
        var store = new CheckpointStore(new LocalBlobStore(_dir.Path));
        SavedCheckpoint.Save(store, 1, world: 1);
        var before = File.ReadAllBytes(Path.Combine(_dir.Path, "step-00000001", "metadata.json"));

        Assert.Throws<StepAlreadyCommittedException>(() => store.Commit(store.ReadMetadata(1)));

        Assert.Equal(before, File.ReadAllBytes(Path.Combine(_dir.Path, "step-00000001", "metadata.json")));
    }
}

public class PathEscapeSpec : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("../outside")]
    [InlineData("step-00000001/../../outside")]
    [InlineData("/etc/passwd")]
    public void The_store_should_refuse_paths_outside_its_root(string path)
    {
        var store = new LocalBlobStore(_dir.Path);

        Assert.Throws<UnauthorizedAccessException>(() => store.Create(path));
        Assert.Throws<UnauthorizedAccessException>(() => store.OpenRead(path));
    }

    [Fact]
    public void A_data_file_name_that_is_not_plain_should_be_refused_before_anything_is_written()
    {
        var store = new LocalBlobStore(_dir.Path);
        store.CreateDirectory("s");
        var plan = new ActorCkpt.FileWritePlan("../escape.safetensors", 0, 0, Array.Empty<ActorCkpt.WriteItem>());

        var e = Assert.Throws<ActorCkpt.ActorCkptException>(() => new DataFileStreamWriter(store, "s", plan, 4096, new Dictionary<string, string>()));

        Assert.Contains("'../escape.safetensors' is not a plain name", e.Message);
        Assert.False(File.Exists(Path.Combine(_dir.Path, "escape.safetensors")));
    }
}

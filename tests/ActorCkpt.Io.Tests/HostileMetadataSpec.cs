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
        SavedCheckpoint.Save(store, 1, world: 2);
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
    public void Committing_over_an_existing_metadata_file_should_be_refused()
    {
        var store = new CheckpointStore(new LocalBlobStore(_dir.Path));
        SavedCheckpoint.Save(store, 1, world: 1);
        var before = File.ReadAllBytes(Path.Combine(_dir.Path, "step-00000001", "metadata.json"));

        Assert.Throws<StepAlreadyCommittedException>(() => store.Commit(store.ReadMetadata(1)));

        Assert.Equal(before, File.ReadAllBytes(Path.Combine(_dir.Path, "step-00000001", "metadata.json")));
    }
}

using System.Text;
using System.Text.Json.Nodes;

namespace ActorCkpt.Io.Tests;

/// <summary>How the metadata document is read: field order, unknown fields, shared names, and what it refuses by name.</summary>
public class MetadataReadingSpec : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>The metadata of a checkpoint saved on <paramref name="world"/> ranks (on the first call), parsed afresh for each call.</summary>
    private JsonObject Saved(int world = 2)
    {
        var path = Path.Combine(_dir.Path, "step-00000001", "metadata.json");
        if (!File.Exists(path)) SavedCheckpoint.Save(new CheckpointStore(new LocalBlobStore(_dir.Path)), 1, world, json: true);
        return JsonNode.Parse(File.ReadAllText(path))!.AsObject();
    }

    private static CheckpointMetadata Read(string json) => MetadataJson.Deserialize(Encoding.UTF8.GetBytes(json), "metadata.json");

    private static CheckpointFormatException Refused(string json) => Assert.Throws<CheckpointFormatException>(() => Read(json));

    /// <summary>The same object with its properties, at every depth, in reverse order.</summary>
    private static JsonNode? Reversed(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.Reverse().Select(p => KeyValuePair.Create(p.Key, Reversed(p.Value)))),
        JsonArray a => new JsonArray(a.Select(Reversed).ToArray()),
        _ => node?.DeepClone(),
    };

    [Fact]
    public void Fields_should_be_read_in_any_order_and_unknown_ones_skipped()
    {
        var json = Saved();
        var expected = Read(json.ToJsonString());
        var shuffled = Reversed(json)!.AsObject();
        shuffled["written_by"] = new JsonObject { ["tool"] = "another", ["list"] = new JsonArray(1, 2, new JsonObject()) };
        shuffled["tensors"]!["w"]!["chunks"]![0]!["note"] = new JsonArray("x");

        var read = Read(shuffled.ToJsonString());

        Assert.Equal(MetadataJson.Serialize(expected), MetadataJson.Serialize(read));
    }

    [Fact]
    public void Every_mention_of_a_data_file_should_share_one_string_for_its_name()
    {
        var md = Read(Saved(world: 1).ToJsonString());

        var names = md.Tensors.Values.SelectMany(t => t.Chunks).Select(c => c.Bytes.File).Concat(md.Objects.Select(o => o.Bytes.File))
            .Concat(md.Files.Select(f => f.Name)).GroupBy(n => n).ToArray();
        Assert.Equal(md.Files.Count, names.Length);
        Assert.All(names, same => Assert.All(same, n => Assert.Same(same.First(), n)));
        Assert.Contains(names, same => same.Count() > 2);
    }

    [Theory]
    [InlineData("rank", "a chunk of 'w' has no \"rank\"")]
    [InlineData("checksums", "a chunk of 'w' has no \"checksums\"")]
    [InlineData("offsets", "a chunk of 'w' has no \"offsets\"")]
    public void A_chunk_without_a_field_should_be_refused_naming_the_field(string field, string message)
    {
        var json = Saved();
        json["tensors"]!["w"]!["chunks"]![1]!.AsObject().Remove(field);

        Assert.Contains("malformed metadata: " + message, Refused(json.ToJsonString()).Message);
    }

    [Fact]
    public void Fields_missing_from_the_document_a_tensor_or_a_file_should_be_named()
    {
        var json = Saved();
        json.Remove("world_size");
        Assert.Contains("the document has no \"world_size\"", Refused(json.ToJsonString()).Message);

        json = Saved();
        json["tensors"]!["b"]!.AsObject().Remove("dtype");
        Assert.Contains("tensor 'b' has no \"dtype\"", Refused(json.ToJsonString()).Message);

        json = Saved();
        json["files"]![0]!.AsObject().Remove("length");
        Assert.Contains("a file entry has no \"length\"", Refused(json.ToJsonString()).Message);
    }

    [Fact]
    public void A_field_of_the_wrong_type_should_be_refused_naming_it_and_its_value()
    {
        var json = Saved();
        json["tensors"]!["w"]!["shape"] = "8x4";
        Assert.Contains("\"shape\" is \"8x4\" at byte", Refused(json.ToJsonString()).Message);

        json = Saved();
        json["tensors"]!["w"]!["chunks"]![0]!["rank"] = 1e12;
        Assert.Contains("\"rank\" 1000000000000 is not a 32-bit integer", Refused(json.ToJsonString()).Message);

        json = Saved();
        json["tensors"]!["w"]!["chunks"]![0]!["lengths"]![1] = 2.5;
        Assert.Contains("an element of \"lengths\" is 2.5, not a 64-bit integer", Refused(json.ToJsonString()).Message);
    }

    [Fact]
    public void A_creation_time_without_an_offset_should_be_read_as_utc_and_one_that_is_no_time_refused()
    {
        var json = Saved();
        json["created_utc"] = "2026-12-05T10:00:00";
        Assert.Equal(new DateTimeOffset(2026, 12, 5, 10, 0, 0, TimeSpan.Zero), Read(json.ToJsonString()).CreatedUtc);

        json["created_utc"] = "2026-12-05T10:00:00+02:00";
        Assert.Equal(new DateTimeOffset(2026, 12, 5, 8, 0, 0, TimeSpan.Zero), Read(json.ToJsonString()).CreatedUtc.ToUniversalTime());

        json["created_utc"] = "yesterday";
        Assert.Contains("\"created_utc\" \"yesterday\" is not a time", Refused(json.ToJsonString()).Message);
    }

    [Fact]
    public void A_tensor_listed_twice_should_be_refused()
    {
        var saved = Saved();
        var json = saved.ToJsonString();
        var b = saved["tensors"]!["b"]!.ToJsonString();

        var twice = json.Replace("\"tensors\":{", $"\"tensors\":{{\"b\":{b},", StringComparison.Ordinal);

        Assert.Contains("tensor 'b' is listed twice", Refused(twice).Message);
    }

    [Fact]
    public void Content_after_the_document_should_be_refused()
    {
        var e = Refused(Saved().ToJsonString() + " {}");

        Assert.Contains("malformed metadata", e.Message);
    }

    [Theory]
    [InlineData("""{"tensors":5,"format":"actorckpt","format_version":99}""", "format_version 99 is not supported")]
    [InlineData("""{"tensors":{"w":[]},"format":"something-else","step":1}""", "not an ActorCkpt metadata document")]
    [InlineData("""{"tensors":{"w":[]},"format":"actorckpt"}""", "the document has no \"format_version\"")]
    public void A_document_of_another_kind_or_version_should_be_named_so_wherever_its_header_lies(string json, string message)
    {
        var e = Refused(json);

        Assert.Contains(message, e.Message);
        Assert.DoesNotContain("malformed", e.Message);
    }
}

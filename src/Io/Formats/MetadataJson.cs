using System.Buffers.Text;
using System.Runtime.InteropServices;
using System.Text.Json;
using ActorCkpt.Planner;

namespace ActorCkpt.Io;

/// <summary>
/// The checkpoint metadata document (format version 1), written with an explicit schema so the
/// format does not drift with the model types. See the README's "On-disk format" for the fields.
/// </summary>
public static class MetadataJson
{
    /// <summary>Value of the "format" field, so a reader can tell an ActorCkpt metadata file at a glance.</summary>
    public const string FormatName = "actorckpt";

    /// <summary>
    /// Serializes <paramref name="metadata"/> to compact UTF-8 JSON: at thousands of ranks the
    /// document has a chunk per rank and tensor, and indentation would more than double it.
    /// </summary>
    public static byte[] Serialize(CheckpointMetadata metadata)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteString("format", FormatName);
            w.WriteNumber("format_version", metadata.FormatVersion);
            w.WriteNumber("step", metadata.Step);
            w.WriteNumber("world_size", metadata.WorldSize);
            w.WriteString("created_utc", metadata.CreatedUtc.ToUniversalTime().ToString("O"));
            w.WriteString("checksum_algorithm", BlockChecksums.Algorithm);
            w.WriteStartObject("tensors");
            foreach (var t in metadata.Tensors.Values.OrderBy(t => t.Key, StringComparer.Ordinal))
            {
                w.WriteStartObject(t.Key);
                w.WriteString("dtype", DTypes.ToSafetensors(t.DType));
                WriteLongs(w, "shape", t.Shape);
                w.WriteStartArray("chunks");
                foreach (var c in t.Chunks)
                {
                    w.WriteStartObject();
                    WriteLongs(w, "offsets", c.Box.Offsets);
                    WriteLongs(w, "lengths", c.Box.Lengths);
                    w.WriteNumber("rank", c.Rank);
                    w.WriteString("name", c.StorageName);
                    WriteBytes(w, c.Bytes);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteStartArray("objects");
            foreach (var o in metadata.Objects)
            {
                w.WriteStartObject();
                w.WriteString("key", o.Key);
                w.WriteString("scope", o.Scope == ObjectScope.Rank ? "rank" : "global");
                w.WriteNumber("rank", o.Rank);
                w.WriteString("name", o.StorageName);
                WriteBytes(w, o.Bytes);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("files");
            foreach (var f in metadata.Files)
            {
                w.WriteStartObject();
                w.WriteString("name", f.Name);
                w.WriteNumber("length", f.Length);
                w.WriteNumber("rank", f.Rank);
                w.WriteNumber("writer", f.Writer);
                w.WriteString("node", f.Node);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return stream.ToArray();
    }

    /// <summary>
    /// Parses a metadata document and checks it with <see cref="MetadataValidator"/>. Throws
    /// <see cref="CheckpointFormatException"/> naming <paramref name="file"/> and the fault when it
    /// is malformed, inconsistent, or of another version.
    /// </summary>
    public static CheckpointMetadata Deserialize(ReadOnlySpan<byte> json, string file)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            using var doc = JsonDocument.ParseValue(ref reader);
            var root = doc.RootElement;
            if (!root.TryGetProperty("format", out var format) || format.GetString() != FormatName)
                throw new CheckpointFormatException(file, $"not an ActorCkpt metadata document (\"format\" is not \"{FormatName}\")");
            var version = root.GetProperty("format_version").GetInt32();
            if (version != CheckpointMetadata.CurrentFormatVersion)
                throw new CheckpointFormatException(file, $"format_version {version} is not supported (this build reads {CheckpointMetadata.CurrentFormatVersion})");

            var tensors = new Dictionary<string, TensorMetadata>(StringComparer.Ordinal);
            foreach (var t in root.GetProperty("tensors").EnumerateObject())
            {
                var chunkArray = t.Value.GetProperty("chunks"u8);
                var chunks = new StoredChunk[chunkArray.GetArrayLength()];
                var i = 0;
                foreach (var c in chunkArray.EnumerateArray())
                    chunks[i++] = new StoredChunk(
                        new TensorBox(ReadLongs(c, "offsets"u8), ReadLongs(c, "lengths"u8)),
                        c.GetProperty("name"u8).GetString()!,
                        c.GetProperty("rank"u8).GetInt32(),
                        ReadBytes(c));
                tensors[t.Name] = new TensorMetadata(t.Name, DTypes.FromSafetensors(t.Value.GetProperty("dtype"u8).GetString()!),
                    ReadLongs(t.Value, "shape"u8), chunks);
            }
            var objects = root.GetProperty("objects").EnumerateArray().Select(o => new ObjectMetadata(
                o.GetProperty("key").GetString()!,
                o.GetProperty("scope").GetString() switch
                {
                    "rank" => ObjectScope.Rank,
                    "global" => ObjectScope.Global,
                    var s => throw new CheckpointFormatException(file, $"object scope '{s}' is neither 'global' nor 'rank'"),
                },
                o.GetProperty("rank").GetInt32(),
                o.GetProperty("name").GetString()!,
                ReadBytes(o))).ToArray();
            var files = root.GetProperty("files").EnumerateArray().Select(f => new DataFileMetadata(
                f.GetProperty("name").GetString()!, f.GetProperty("length").GetInt64(),
                f.GetProperty("rank").GetInt32(), f.GetProperty("writer").GetInt32(),
                f.TryGetProperty("node", out var node) ? node.GetString() ?? "" : "")).ToArray();
            var metadata = new CheckpointMetadata(version, root.GetProperty("step").GetInt64(), root.GetProperty("world_size").GetInt32(),
                DateTimeOffset.Parse(root.GetProperty("created_utc").GetString()!, System.Globalization.CultureInfo.InvariantCulture),
                tensors, objects, files);
            var problems = MetadataValidator.Validate(metadata);
            return problems.Count == 0 ? metadata : throw new CheckpointFormatException(file, "inconsistent metadata: " + string.Join("; ", problems));
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException
                                      || (e is ActorCkptException && e is not CheckpointFormatException))
        {
            throw new CheckpointFormatException(file, "malformed metadata: " + e.Message, e);
        }
    }

    private static void WriteBytes(Utf8JsonWriter w, StoredBytes b)
    {
        w.WriteString("file", b.File);
        w.WriteNumber("offset", b.Offset);
        w.WriteNumber("length", b.Length);
        w.WriteNumber("block_size", b.BlockSize);
        w.WriteStartArray("checksums");
        foreach (var s in b.BlockChecksums) w.WriteStringValue(BlockChecksums.ToHex(s));
        w.WriteEndArray();
    }

    private static StoredBytes ReadBytes(JsonElement e) => new(
        e.GetProperty("file"u8).GetString()!,
        e.GetProperty("offset"u8).GetInt64(),
        e.GetProperty("length"u8).GetInt64(),
        e.GetProperty("block_size"u8).GetInt32(),
        ReadChecksums(e.GetProperty("checksums"u8)));

    /// <summary>
    /// Parses the hex digits where they lie in the document: it holds one checksum per block of
    /// every chunk, and making a string of each took a fifth of the time it took to read it.
    /// </summary>
    private static ulong[] ReadChecksums(JsonElement array)
    {
        var sums = new ulong[array.GetArrayLength()];
        var i = 0;
        foreach (var s in array.EnumerateArray())
        {
            var raw = s.ValueKind == JsonValueKind.String ? JsonMarshal.GetRawUtf8Value(s)[1..^1] : default;
            if (raw.IndexOf((byte)'\\') >= 0 || raw.Length is 0 or > 16 || !Utf8Parser.TryParse(raw, out sums[i], out var used, 'x') || used != raw.Length)
                throw new FormatException($"checksum {s.GetRawText()} is not 1 to 16 hex digits");
            i++;
        }
        return sums;
    }

    private static void WriteLongs(Utf8JsonWriter w, string name, IReadOnlyList<long> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteNumberValue(v);
        w.WriteEndArray();
    }

    private static long[] ReadLongs(JsonElement e, ReadOnlySpan<byte> name)
    {
        var array = e.GetProperty(name);
        var values = new long[array.GetArrayLength()];
        var i = 0;
        foreach (var v in array.EnumerateArray()) values[i++] = v.GetInt64();
        return values;
    }
}

using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace ActorCkpt;

/// <summary>
/// The checkpoint metadata document (format version 1), written with an explicit schema so the
/// format does not drift with the model types. See the README's "On-disk format" for the fields.
/// </summary>
internal static class MetadataJson
{
    /// <summary>Value of the "format" field, so a reader can tell an ActorCkpt metadata file at a glance.</summary>
    public const string FormatName = "actorckpt";

    /// <summary>
    /// Serializes <paramref name="metadata"/> to compact UTF-8 JSON: at thousands of ranks the
    /// document has a chunk per rank and tensor, and indentation would more than double it.
    /// </summary>
    public static byte[] Serialize(CheckpointMetadata metadata)
    {
        // Straight into one growing buffer: a Stream under the writer would hold the whole document
        // twice more before it reached an array.
        var buffer = new ArrayBufferWriter<byte>(1 << 16);
        var files = new Dictionary<string, JsonEncodedText>(StringComparer.Ordinal);
        using (var w = new Utf8JsonWriter(buffer))
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
                WriteLongs(w, "shape"u8, t.Shape);
                WriteObjects(w, "chunks"u8, t.Chunks, files, static (w, c, files) =>
                {
                    WriteLongs(w, "offsets"u8, c.Box.Offsets);
                    WriteLongs(w, "lengths"u8, c.Box.Lengths);
                    WriteStored(w, c.Rank, c.StorageName, c.Bytes, files);
                });
                w.WriteEndObject();
            }
            w.WriteEndObject();
            WriteObjects(w, "objects"u8, metadata.Objects, files, static (w, o, files) =>
            {
                w.WriteString("key"u8, o.Key);
                w.WriteString("scope"u8, o.Scope == ObjectScope.Rank ? "rank" : "global");
                WriteStored(w, o.Rank, o.StorageName, o.Bytes, files);
            });
            WriteObjects(w, "files"u8, metadata.Files, files, static (w, f, _) =>
            {
                w.WriteString("name"u8, f.Name);
                w.WriteNumber("length"u8, f.Length);
                w.WriteNumber("rank"u8, f.Rank);
                w.WriteNumber("writer"u8, f.Writer);
                w.WriteString("node"u8, f.Node);
                if (f.HeaderChecksum.Length > 0) w.WriteString("header_checksum"u8, f.HeaderChecksum);
            });
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
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
            var metadata = MetadataJsonReader.Read(json, file);
            var problems = MetadataValidator.Validate(metadata);
            return problems.Count == 0 ? metadata : throw new CheckpointFormatException(file, "inconsistent metadata: " + Problems.Line(problems));
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or ArgumentException
                                      || (e is ActorCkptException && e is not CheckpointFormatException))
        {
            // A document of another kind or version is named as such, whatever else is wrong with it.
            var (format, version) = MetadataJsonReader.Header(json);
            MetadataJsonReader.CheckHeader(format, version, file);
            throw new CheckpointFormatException(file, "malformed metadata: " + e.Message, e);
        }
    }

    /// <summary>
    /// Writes <paramref name="items"/> as the array <paramref name="name"/> of objects, each one's
    /// fields by <paramref name="fields"/> (static, so a call allocates no closure).
    /// </summary>
    private static void WriteObjects<T>(Utf8JsonWriter w, ReadOnlySpan<byte> name, IReadOnlyList<T> items, Dictionary<string, JsonEncodedText> files,
        Action<Utf8JsonWriter, T, Dictionary<string, JsonEncodedText>> fields)
    {
        w.WriteStartArray(name);
        for (var i = 0; i < items.Count; i++)
        {
            w.WriteStartObject();
            fields(w, items[i], files);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    /// <summary>
    /// Writes what a tensor chunk and a non-tensor entry both record of their bytes: the rank that
    /// saved them, their name inside the data file, and where they lie.
    /// </summary>
    private static void WriteStored(Utf8JsonWriter w, int rank, string storageName, StoredBytes bytes, Dictionary<string, JsonEncodedText> files)
    {
        w.WriteNumber("rank"u8, rank);
        w.WriteString("name"u8, storageName);
        WriteBytes(w, bytes, files);
    }

    /// <summary>
    /// Writes where an item's bytes lie. This runs once per chunk, so nothing in it allocates: the
    /// name of each data file is encoded once (<paramref name="files"/>) and checksums are formatted in place.
    /// </summary>
    private static void WriteBytes(Utf8JsonWriter w, StoredBytes b, Dictionary<string, JsonEncodedText> files)
    {
        if (!files.TryGetValue(b.File, out var file)) files[b.File] = file = JsonEncodedText.Encode(b.File);
        w.WriteString("file"u8, file);
        w.WriteNumber("offset"u8, b.Offset);
        w.WriteNumber("length"u8, b.Length);
        w.WriteNumber("block_size"u8, b.BlockSize);
        w.WriteStartArray("checksums"u8);
        Span<byte> hex = stackalloc byte[16];
        for (var i = 0; i < b.BlockChecksums.Count; i++)
        {
            b.BlockChecksums[i].TryFormat(hex, out _, "x16", CultureInfo.InvariantCulture);
            w.WriteStringValue(hex);
        }
        w.WriteEndArray();
    }

    private static void WriteLongs(Utf8JsonWriter w, ReadOnlySpan<byte> name, IReadOnlyList<long> values)
    {
        w.WriteStartArray(name);
        for (var i = 0; i < values.Count; i++) w.WriteNumberValue(values[i]);
        w.WriteEndArray();
    }
}

using System.Buffers.Text;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Names = System.Collections.Generic.Dictionary<string, string>.AlternateLookup<System.ReadOnlySpan<char>>;

namespace ActorCkpt;

/// <summary>
/// Reads a metadata document in one pass over its UTF-8 with <see cref="Utf8JsonReader"/>, with no
/// document tree: at thousands of ranks the document holds a chunk per rank and tensor, and a tree
/// of it cost as much memory as the JSON and a third of the time in collections. Data file names,
/// written once per chunk, are read into one shared string each. Properties may come in any order;
/// unknown ones are skipped. Throws <see cref="FormatException"/> naming what is missing or wrong,
/// and lets <see cref="JsonException"/> through for JSON that is not well formed.
/// </summary>
internal static class MetadataJsonReader
{
    /// <summary>Reads <paramref name="json"/>, the document <paramref name="file"/>; a document of another kind or version is refused by <see cref="CheckHeader"/>.</summary>
    public static CheckpointMetadata Read(ReadOnlySpan<byte> json, string file)
    {
        var r = new Utf8JsonReader(json);
        var names = new Dictionary<string, string>(StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();
        var scratch = new Scratch();
        string? format = null, created = null;
        int? version = null, worldSize = null;
        long? step = null;
        Dictionary<string, TensorMetadata>? tensors = null;
        List<ObjectMetadata>? objects = null;
        List<DataFileMetadata>? files = null;

        Expect(ref r, JsonTokenType.StartObject, "the document");
        while (NextProperty(ref r))
        {
            if (r.ValueTextEquals("format"u8)) format = String(ref r, "format");
            else if (r.ValueTextEquals("format_version"u8)) version = Int32(ref r, "format_version");
            else if (r.ValueTextEquals("step"u8)) step = Int64(ref r, "step");
            else if (r.ValueTextEquals("world_size"u8)) worldSize = Int32(ref r, "world_size");
            else if (r.ValueTextEquals("created_utc"u8)) created = String(ref r, "created_utc");
            else if (r.ValueTextEquals("tensors"u8)) tensors = Tensors(ref r, names, scratch);
            else if (r.ValueTextEquals("objects"u8)) objects = Objects(ref r, names, scratch);
            else if (r.ValueTextEquals("files"u8)) files = Files(ref r, names);
            else SkipValue(ref r);
        }
        // The reader refuses anything but whitespace after the document.
        r.Read();
        CheckHeader(format, version, file);

        const string where = "the document";
        return new CheckpointMetadata(version!.Value, step ?? throw Missing(where, "step"), worldSize ?? throw Missing(where, "world_size"),
            CreatedUtc(created ?? throw Missing(where, "created_utc")),
            tensors ?? throw Missing(where, "tensors"), objects ?? throw Missing(where, "objects"), files ?? throw Missing(where, "files"));
    }

    /// <summary>The time of "created_utc", in UTC when it names no offset (the field is UTC by its name; parsing would take the reader's local time).</summary>
    private static DateTimeOffset CreatedUtc(string text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time)
            ? time
            : throw new FormatException($"\"created_utc\" \"{text}\" is not a time");

    /// <summary>Refuses, naming <paramref name="file"/>, a document whose format is not ActorCkpt's or whose version this build does not read.</summary>
    public static void CheckHeader(string? format, int? version, string file)
    {
        if (format != MetadataJson.FormatName)
            throw new CheckpointFormatException(file, $"not an ActorCkpt metadata document (\"format\" is not \"{MetadataJson.FormatName}\")");
        if (version != CheckpointMetadata.CurrentFormatVersion)
            throw new CheckpointFormatException(file, version is { } v
                ? $"format_version {v} is not supported (this build reads {CheckpointMetadata.CurrentFormatVersion})"
                : "the document has no \"format_version\"");
    }

    /// <summary>
    /// The "format" and "format_version" of <paramref name="json"/>, skipping everything else, and
    /// nulls where they cannot be read: for naming a document of another kind or version whatever
    /// else is wrong with it.
    /// </summary>
    public static (string? Format, int? Version) Header(ReadOnlySpan<byte> json)
    {
        string? format = null;
        int? version = null;
        try
        {
            var r = new Utf8JsonReader(json);
            if (!r.Read() || r.TokenType != JsonTokenType.StartObject) return (null, null);
            while (NextProperty(ref r))
            {
                if (r.ValueTextEquals("format"u8)) format = String(ref r, "format");
                else if (r.ValueTextEquals("format_version"u8)) version = Int32(ref r, "format_version");
                else SkipValue(ref r);
            }
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            // What was read before the fault is all there is to go on.
        }
        return (format, version);
    }

    private static Dictionary<string, TensorMetadata> Tensors(ref Utf8JsonReader r, Names names, Scratch scratch)
    {
        var tensors = new Dictionary<string, TensorMetadata>(StringComparer.Ordinal);
        Expect(ref r, JsonTokenType.StartObject, "\"tensors\"");
        while (NextProperty(ref r))
        {
            var key = r.GetString()!;
            var where = $"tensor '{key}'";
            string? dtype = null;
            long[]? shape = null;
            List<StoredChunk>? chunks = null;
            Expect(ref r, JsonTokenType.StartObject, where);
            while (NextProperty(ref r))
            {
                if (r.ValueTextEquals("dtype"u8)) dtype = String(ref r, "dtype");
                else if (r.ValueTextEquals("shape"u8)) shape = Longs(ref r, "shape", scratch.Shape).ToArray();
                else if (r.ValueTextEquals("chunks"u8)) chunks = Chunks(ref r, key, names, scratch);
                else SkipValue(ref r);
            }
            var tensor = new TensorMetadata(key, DTypes.FromSafetensors(dtype ?? throw Missing(where, "dtype")),
                shape ?? throw Missing(where, "shape"), chunks ?? throw Missing(where, "chunks"));
            if (!tensors.TryAdd(key, tensor)) throw new FormatException($"tensor '{key}' is listed twice");
        }
        return tensors;
    }

    private static List<StoredChunk> Chunks(ref Utf8JsonReader r, string key, Names names, Scratch scratch)
    {
        var chunks = new List<StoredChunk>();
        var where = $"a chunk of '{key}'";
        Expect(ref r, JsonTokenType.StartArray, $"the chunks of '{key}'");
        while (NextElement(ref r, JsonTokenType.StartObject, where))
        {
            List<long>? offsets = null, lengths = null;
            string? name = null;
            int? rank = null;
            var bytes = new BytesFields();
            while (NextProperty(ref r))
            {
                if (r.ValueTextEquals("offsets"u8)) offsets = Longs(ref r, "offsets", scratch.Offsets);
                else if (r.ValueTextEquals("lengths"u8)) lengths = Longs(ref r, "lengths", scratch.Lengths);
                else if (r.ValueTextEquals("rank"u8)) rank = Int32(ref r, "rank");
                else if (r.ValueTextEquals("name"u8))
                {
                    // A whole tensor is stored under its key: share the key's string.
                    ExpectValue(ref r, JsonTokenType.String, "name");
                    name = r.ValueTextEquals(key) ? key : r.GetString();
                }
                else if (!bytes.TryRead(ref r, names, scratch)) SkipValue(ref r);
            }
            TensorBox box;
            try
            {
                box = new TensorBox(offsets ?? throw Missing(where, "offsets"), lengths ?? throw Missing(where, "lengths"));
            }
            catch (ArgumentException e)
            {
                throw new FormatException($"{where}: \"offsets\"/\"lengths\": {e.Message}", e);
            }
            chunks.Add(new StoredChunk(box, name ?? throw Missing(where, "name"), rank ?? throw Missing(where, "rank"), bytes.ToStoredBytes(where)));
        }
        return chunks;
    }

    private static List<ObjectMetadata> Objects(ref Utf8JsonReader r, Names names, Scratch scratch)
    {
        var objects = new List<ObjectMetadata>();
        const string where = "an object entry";
        Expect(ref r, JsonTokenType.StartArray, "\"objects\"");
        while (NextElement(ref r, JsonTokenType.StartObject, where))
        {
            string? key = null, scope = null, name = null;
            int? rank = null;
            var bytes = new BytesFields();
            while (NextProperty(ref r))
            {
                if (r.ValueTextEquals("key"u8)) key = String(ref r, "key");
                else if (r.ValueTextEquals("scope"u8)) scope = String(ref r, "scope");
                else if (r.ValueTextEquals("rank"u8)) rank = Int32(ref r, "rank");
                else if (r.ValueTextEquals("name"u8)) name = String(ref r, "name");
                else if (!bytes.TryRead(ref r, names, scratch)) SkipValue(ref r);
            }
            var kind = (scope ?? throw Missing(where, "scope")) switch
            {
                "rank" => ObjectScope.Rank,
                "global" => ObjectScope.Global,
                var s => throw new FormatException($"object scope '{s}' is neither 'global' nor 'rank'"),
            };
            objects.Add(new ObjectMetadata(key ?? throw Missing(where, "key"), kind, rank ?? throw Missing(where, "rank"),
                name ?? throw Missing(where, "name"), bytes.ToStoredBytes($"object entry '{key}'")));
        }
        return objects;
    }

    private static List<DataFileMetadata> Files(ref Utf8JsonReader r, Names names)
    {
        var files = new List<DataFileMetadata>();
        const string where = "a file entry";
        Expect(ref r, JsonTokenType.StartArray, "\"files\"");
        while (NextElement(ref r, JsonTokenType.StartObject, where))
        {
            string? name = null;
            var node = "";
            var headerChecksum = "";
            long? length = null;
            int? rank = null, writer = null;
            while (NextProperty(ref r))
            {
                if (r.ValueTextEquals("name"u8)) name = Shared(ref r, "name", names);
                else if (r.ValueTextEquals("length"u8)) length = Int64(ref r, "length");
                else if (r.ValueTextEquals("rank"u8)) rank = Int32(ref r, "rank");
                else if (r.ValueTextEquals("writer"u8)) writer = Int32(ref r, "writer");
                else if (r.ValueTextEquals("node"u8)) node = String(ref r, "node");
                else if (r.ValueTextEquals("header_checksum"u8)) headerChecksum = String(ref r, "header_checksum");
                else SkipValue(ref r);
            }
            files.Add(new DataFileMetadata(name ?? throw Missing(where, "name"), length ?? throw Missing(where, "length"),
                rank ?? throw Missing(where, "rank"), writer ?? throw Missing(where, "writer"), node, headerChecksum));
        }
        return files;
    }

    /// <summary>Where a chunk's or an entry's bytes lie: the fields of <see cref="StoredBytes"/>, read in any order.</summary>
    private struct BytesFields
    {
        private string? _file;
        private long? _offset, _length;
        private int? _blockSize;
        private ulong[]? _checksums;

        /// <summary>Reads the value of the property at <paramref name="r"/> when it is one of these fields.</summary>
        public bool TryRead(ref Utf8JsonReader r, Names names, Scratch scratch)
        {
            if (r.ValueTextEquals("file"u8)) _file = Shared(ref r, "file", names);
            else if (r.ValueTextEquals("offset"u8)) _offset = Int64(ref r, "offset");
            else if (r.ValueTextEquals("length"u8)) _length = Int64(ref r, "length");
            else if (r.ValueTextEquals("block_size"u8)) _blockSize = Int32(ref r, "block_size");
            else if (r.ValueTextEquals("checksums"u8)) _checksums = Checksums(ref r, scratch.Checksums);
            else return false;
            return true;
        }

        public readonly StoredBytes ToStoredBytes(string where) => new(_file ?? throw Missing(where, "file"), _offset ?? throw Missing(where, "offset"),
            _length ?? throw Missing(where, "length"), _blockSize ?? throw Missing(where, "block_size"), _checksums ?? throw Missing(where, "checksums"));
    }

    /// <summary>
    /// Parses each checksum's hex digits where they lie in the document: it holds one per block of
    /// every chunk, and a string of each took a fifth of the time the whole read took.
    /// </summary>
    private static ulong[] Checksums(ref Utf8JsonReader r, List<ulong> sums)
    {
        sums.Clear();
        Expect(ref r, JsonTokenType.StartArray, "\"checksums\"");
        while (r.Read() && r.TokenType != JsonTokenType.EndArray)
        {
            var raw = r.TokenType == JsonTokenType.String && !r.ValueIsEscaped ? r.ValueSpan : default;
            if (raw.Length is 0 or > 16 || !Utf8Parser.TryParse(raw, out ulong sum, out var used, 'x') || used != raw.Length)
                throw new FormatException($"checksum {RawText(ref r)} is not 1 to 16 hex digits");
            sums.Add(sum);
        }
        return sums.ToArray();
    }

    /// <summary>Reads an array of integers into <paramref name="into"/>, which is cleared first and returned.</summary>
    private static List<long> Longs(ref Utf8JsonReader r, string field, List<long> into)
    {
        into.Clear();
        ExpectValue(ref r, JsonTokenType.StartArray, field);
        while (r.Read() && r.TokenType != JsonTokenType.EndArray)
            into.Add(r.TokenType == JsonTokenType.Number && r.TryGetInt64(out var value)
                ? value
                : throw new FormatException($"an element of \"{field}\" is {RawText(ref r)}, not a 64-bit integer"));
        return into;
    }

    /// <summary>A string value read into the one string <paramref name="names"/> keeps for its text.</summary>
    private static string Shared(ref Utf8JsonReader r, string field, Names names)
    {
        ExpectValue(ref r, JsonTokenType.String, field);
        // Unescaping never lengthens a value, and UTF-8 never takes fewer bytes than UTF-16 units.
        var length = r.ValueSpan.Length;
        var buffer = length <= 256 ? stackalloc char[256] : new char[length];
        var text = buffer[..r.CopyString(buffer)];
        if (names.TryGetValue(text, out var shared)) return shared;
        shared = text.ToString();
        names.Dictionary.Add(shared, shared);
        return shared;
    }

    private static string String(ref Utf8JsonReader r, string field)
    {
        ExpectValue(ref r, JsonTokenType.String, field);
        return r.GetString()!;
    }

    private static int Int32(ref Utf8JsonReader r, string field)
    {
        ExpectValue(ref r, JsonTokenType.Number, field);
        return r.TryGetInt32(out var value) ? value : throw new FormatException($"\"{field}\" {RawText(ref r)} is not a 32-bit integer");
    }

    private static long Int64(ref Utf8JsonReader r, string field)
    {
        ExpectValue(ref r, JsonTokenType.Number, field);
        return r.TryGetInt64(out var value) ? value : throw new FormatException($"\"{field}\" {RawText(ref r)} is not a 64-bit integer");
    }

    /// <summary>Moves to the next property name of the object being read; false at its end.</summary>
    private static bool NextProperty(ref Utf8JsonReader r)
    {
        r.Read();
        return r.TokenType == JsonTokenType.PropertyName;
    }

    /// <summary>Moves to the next element of the array being read, which must be a <paramref name="type"/>; false at its end.</summary>
    private static bool NextElement(ref Utf8JsonReader r, JsonTokenType type, string what)
    {
        r.Read();
        if (r.TokenType == JsonTokenType.EndArray) return false;
        return r.TokenType == type ? true : throw Unexpected(ref r, type, what);
    }

    private static void Expect(ref Utf8JsonReader r, JsonTokenType type, string what)
    {
        if (!r.Read() || r.TokenType != type) throw Unexpected(ref r, type, what);
    }

    /// <summary>Reads the value of <paramref name="field"/>, which must be a <paramref name="type"/>; the message is built only on failure, as this runs for every field.</summary>
    private static void ExpectValue(ref Utf8JsonReader r, JsonTokenType type, string field)
    {
        if (!r.Read() || r.TokenType != type) throw Unexpected(ref r, type, $"\"{field}\"");
    }

    private static void SkipValue(ref Utf8JsonReader r)
    {
        r.Read();
        r.Skip();
    }

    private static FormatException Unexpected(ref Utf8JsonReader r, JsonTokenType type, string what)
    {
        var expected = type switch
        {
            JsonTokenType.StartObject => "an object",
            JsonTokenType.StartArray => "an array",
            JsonTokenType.String => "a string",
            JsonTokenType.Number => "a number",
            _ => type.ToString(),
        };
        return new FormatException($"{what} is {RawText(ref r)} at byte {r.TokenStartIndex}, not {expected}");
    }

    private static FormatException Missing(string where, string field) => new($"{where} has no \"{field}\"");

    /// <summary>The token at <paramref name="r"/> as it is written, for messages.</summary>
    private static string RawText(ref Utf8JsonReader r)
    {
        var text = Encoding.UTF8.GetString(r.ValueSpan);
        return r.TokenType is JsonTokenType.String or JsonTokenType.PropertyName ? $"\"{text}\"" : text;
    }

    /// <summary>The lists a chunk's box and checksums and a tensor's shape are read into before they are copied.</summary>
    private sealed class Scratch
    {
        public List<ulong> Checksums { get; } = new(16);
        public List<long> Offsets { get; } = new(4);
        public List<long> Lengths { get; } = new(4);
        public List<long> Shape { get; } = new(4);
    }
}

using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using System.Text.Json;

namespace ActorCkpt;

/// <summary>
/// The safetensors layout: an 8-byte little-endian header length N, N bytes of JSON (padded with
/// spaces to a multiple of 8), then the data section with every tensor's bytes back to back.
/// The JSON maps each name to dtype, shape and data_offsets [begin, end) into the data section;
/// the optional "__metadata__" entry is a string-to-string map.
/// </summary>
internal sealed record SafetensorsHeader(IReadOnlyList<SafetensorsEntry> Entries, IReadOnlyDictionary<string, string> Metadata, long HeaderLength)
{
    /// <summary>Headers longer than this are refused as corrupt (the reference implementation uses 100 MB).</summary>
    public const long MaxHeaderLength = 100_000_000;

    /// <summary>Where the data section starts in the file.</summary>
    public long DataStart => 8 + HeaderLength;

    /// <summary>
    /// xxHash3-64 of the header's bytes as they are in the file (the 8-byte length and the padded
    /// JSON), 16 hex digits: what the metadata records as a data file's "header_checksum".
    /// </summary>
    public string Checksum { get; init; } = "";

    /// <summary>
    /// Tensors whose dtype ActorCkpt does not load (U16, F8_E4M3, …), name to the file's dtype code:
    /// read only with <c>unknownDTypes</c> (a published checkpoint may hold some besides the ones a load wants); otherwise refused.
    /// </summary>
    public IReadOnlyDictionary<string, string> Unsupported { get; init; } = new Dictionary<string, string>();

    /// <summary>The checksum of header bytes <paramref name="prefix"/> then <paramref name="json"/>, as <see cref="Checksum"/> spells it.</summary>
    private static string ChecksumOf(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> json)
    {
        var hasher = new XxHash3();
        hasher.Append(prefix);
        hasher.Append(json);
        return BlockChecksums.ToHex(hasher.GetCurrentHashAsUInt64());
    }

    /// <summary>
    /// Lays out <paramref name="tensors"/> in order and returns the header bytes (length prefix
    /// included) and the header describing them.
    /// </summary>
    public static (byte[] Bytes, SafetensorsHeader Header) Build(
        IReadOnlyList<(string Name, DType DType, IReadOnlyList<long> Shape)> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        var entries = new List<SafetensorsEntry>(tensors.Count);
        var names = new HashSet<string>(StringComparer.Ordinal) { StorageNames.HeaderMetadata };
        long offset = 0;
        foreach (var (name, dtype, shape) in tensors)
        {
            // Written, either would make a header that Read refuses (saves refuse such keys first: SavePlanValidator).
            if (!names.Add(name))
                throw new ArgumentException(name == StorageNames.HeaderMetadata ? $"'{name}' is reserved in a safetensors header" : $"'{name}' is named twice", nameof(tensors));
            var length = checked(Shapes.Volume(shape) * DTypes.ElementSize(dtype));
            entries.Add(new SafetensorsEntry(name, dtype, shape.ToArray(), offset, offset + length));
            offset += length;
        }

        using var json = new MemoryStream();
        using (var w = new Utf8JsonWriter(json))
        {
            w.WriteStartObject();
            if (metadata.Count > 0)
            {
                w.WriteStartObject(StorageNames.HeaderMetadata);
                foreach (var (k, v) in metadata) w.WriteString(k, v);
                w.WriteEndObject();
            }
            foreach (var e in entries)
            {
                w.WriteStartObject(e.Name);
                w.WriteString("dtype", DTypes.ToSafetensors(e.DType));
                w.WriteStartArray("shape");
                foreach (var s in e.Shape) w.WriteNumberValue(s);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(e.Begin);
                w.WriteNumberValue(e.End);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }

        var padded = (json.Length + 7) / 8 * 8;
        var bytes = new byte[8 + padded];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)padded);
        json.GetBuffer().AsSpan(0, (int)json.Length).CopyTo(bytes.AsSpan(8));
        bytes.AsSpan(8 + (int)json.Length).Fill((byte)' ');
        return (bytes, new SafetensorsHeader(entries, metadata, padded) { Checksum = ChecksumOf(bytes.AsSpan(0, 8), bytes.AsSpan(8)) });
    }

    /// <summary>The field <paramref name="name"/> of tensor entry <paramref name="tensor"/>; refused naming both when the entry is no object or lacks it (JSON's own "the given key was not present" named neither).</summary>
    private static JsonElement Field(string file, JsonProperty tensor, string name) =>
        tensor.Value.ValueKind != JsonValueKind.Object
            ? throw new CheckpointFormatException(file, $"tensor '{tensor.Name}' is not an object of dtype, shape and data_offsets")
            : tensor.Value.TryGetProperty(name, out var value) ? value : throw new CheckpointFormatException(file, $"tensor '{tensor.Name}' has no '{name}'");

    /// <summary>
    /// Reads and validates the header of <paramref name="file"/>: JSON well formed, dtypes known,
    /// each entry's size matching its shape, entries contiguous from 0 to the end of the file. The
    /// header is bounded (<see cref="MaxHeaderLength"/>) before it is read, and every size and offset
    /// in it is checked before any arithmetic on it, so none can wrap.
    /// </summary>
    public static SafetensorsHeader Read(IBlobReader reader, string file, bool unknownDTypes = false)
    {
        Span<byte> prefix = stackalloc byte[8];
        if (reader.Length < 8) throw new CheckpointFormatException(file, $"{reader.Length} bytes is too short for a safetensors file");
        reader.ReadExactly(prefix, 0);
        var n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (n > MaxHeaderLength || (long)n > reader.Length - 8)
            throw new CheckpointFormatException(file, $"header length {n} does not fit in a file of {reader.Length} bytes");
        var json = new byte[n];
        reader.ReadExactly(json, 8);
        SafetensorsHeader header;
        try
        {
            header = Parse(json, file, unknownDTypes);
        }
        catch (InvalidOperationException e)
        {
            // JsonDocument checks an element's kind and a string's encoding only when it is read (found by fuzz/, target safetensors).
            throw new CheckpointFormatException(file, "header is malformed: " + e.Message, e);
        }
        var end = header.Entries.Select(e => e.End).Concat(header.UnsupportedEnds).DefaultIfEmpty(0).Max();
        // end is non-negative (Parse checks it) and the file holds at least 8 + n bytes: no sum can wrap.
        if (end != reader.Length - 8 - (long)n)
            throw new CheckpointFormatException(file, $"data section ends at {(Int128)8 + n + end} but the file has {reader.Length} bytes");
        return header with { Checksum = ChecksumOf(prefix, json) };
    }

    // Where the unsupported tensors' bytes end: the data section must end at the last of every tensor's.
    private IReadOnlyList<long> UnsupportedEnds { get; init; } = Array.Empty<long>();

    private static SafetensorsHeader Parse(byte[] json, string file, bool unknownDTypes)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new CheckpointFormatException(file, "header is not valid JSON", e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new CheckpointFormatException(file, "header is not a JSON object");
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var entries = new List<SafetensorsEntry>();
            var unsupported = new Dictionary<string, string>(StringComparer.Ordinal);
            // Every tensor's byte range, the unsupported ones' too: the data section is checked contiguous over all of them.
            var ranges = new List<(string Name, long Begin, long End, long? Size)>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                // JSON allows a name twice and readers disagree on which one wins: refused, not guessed.
                if (!names.Add(prop.Name)) throw new CheckpointFormatException(file, $"header has '{prop.Name}' twice");
                if (prop.Name == StorageNames.HeaderMetadata)
                {
                    if (prop.Value.ValueKind != JsonValueKind.Object) throw new CheckpointFormatException(file, "__metadata__ is not an object");
                    foreach (var m in prop.Value.EnumerateObject())
                        if (!metadata.TryAdd(m.Name, m.Value.ValueKind == JsonValueKind.String
                                ? m.Value.GetString()!
                                : throw new CheckpointFormatException(file, $"__metadata__ value '{m.Name}' is not a string")))
                            throw new CheckpointFormatException(file, $"__metadata__ has '{m.Name}' twice");
                    continue;
                }
                if (prop.Value.ValueKind == JsonValueKind.Object && Repeated(prop.Value) is { } field)
                    throw new CheckpointFormatException(file, $"tensor '{prop.Name}' has '{field}' twice");
                try
                {
                    var code = Field(file, prop, "dtype").GetString()!;
                    DType? dtype = unknownDTypes && !DTypes.IsSafetensors(code) ? null : DTypes.FromSafetensors(code);
                    var shape = Field(file, prop, "shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                    var offsets = Field(file, prop, "data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                    if (offsets.Length != 2) throw new CheckpointFormatException(file, $"'{prop.Name}': data_offsets needs 2 numbers");
                    if (shape.Any(s => s < 0)) throw new CheckpointFormatException(file, $"tensor '{prop.Name}': shape {Shapes.Format(shape)} has a negative size");
                    if (offsets[0] < 0 || offsets[1] < offsets[0])
                        throw new CheckpointFormatException(file, $"tensor '{prop.Name}': data_offsets [{offsets[0]}, {offsets[1]}] is not a range of the data section");
                    if (dtype is { } known)
                    {
                        entries.Add(new SafetensorsEntry(prop.Name, known, shape, offsets[0], offsets[1]));
                        if (!Shapes.TryVolume(shape, DTypes.ElementSize(known), out _, out var size))
                            throw new CheckpointFormatException(file, $"tensor '{prop.Name}': shape {Shapes.Format(shape)} holds more bytes than 64 bits count");
                        ranges.Add((prop.Name, offsets[0], offsets[1], size));
                    }
                    else
                    {
                        unsupported[prop.Name] = code;
                        ranges.Add((prop.Name, offsets[0], offsets[1], null));
                    }
                }
                catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException or ActorCkptException
                                              && e is not CheckpointFormatException)
                {
                    throw new CheckpointFormatException(file, $"tensor '{prop.Name}' has a malformed entry: {e.Message}", e);
                }
            }

            long expected = 0;
            foreach (var (name, begin, end, size) in ranges.OrderBy(e => e.Begin).ThenBy(e => e.End))
            {
                if (begin != expected)
                    throw new CheckpointFormatException(file, $"tensor '{name}' starts at {begin}, expected {expected} (data must be contiguous)");
                if (size is { } needed && end - begin != needed)
                    throw new CheckpointFormatException(file, $"tensor '{name}' spans {end - begin} bytes but its shape {Shapes.Format(entries.First(e => e.Name == name).Shape)} needs {needed}");
                expected = end;
            }
            return new SafetensorsHeader(entries, metadata, json.Length)
            {
                Unsupported = unsupported, UnsupportedEnds = ranges.Where(r => r.Size is null).Select(r => r.End).ToArray(),
            };
        }
    }

    /// <summary>The first field <paramref name="entry"/> names twice (GetProperty would take the last silently), or null.</summary>
    private static string? Repeated(JsonElement entry)
    {
        var fields = new HashSet<string>(StringComparer.Ordinal);
        foreach (var field in entry.EnumerateObject())
            if (!fields.Add(field.Name)) return field.Name;
        return null;
    }
}

using System.Buffers;
using System.Text.Json;

namespace ActorCkpt;

/// <summary>
/// A Hugging Face checkpoint directory opened for import: <c>model.safetensors.index.json</c> and
/// the files its <c>weight_map</c> names, or a single <c>model.safetensors</c>. Every header is read
/// and checked by the safetensors rules; the tensors, renamed by a <see cref="KeyMapping"/>, are
/// described as a <see cref="CheckpointMetadata"/> of whole-tensor chunks (step 0, one rank) so the
/// ordinary load planning applies. Hugging Face files carry no checksums: bytes read are not verified.
/// </summary>
internal sealed class HuggingFaceCheckpoint
{
    private readonly LocalBlobStore _files;

    private HuggingFaceCheckpoint(string directory, CheckpointMetadata metadata, IReadOnlyDictionary<string, string> sourceKeys, IReadOnlyDictionary<string, string> unsupported)
    {
        Directory = directory;
        _files = new LocalBlobStore(directory);
        Metadata = metadata;
        SourceKeys = sourceKeys;
        Unsupported = unsupported;
    }

    /// <summary>The directory.</summary>
    public string Directory { get; }

    /// <summary>The tensors under their mapped names, each one chunk covering the whole tensor.</summary>
    public CheckpointMetadata Metadata { get; }

    /// <summary>Mapped name → the tensor's name in the files.</summary>
    public IReadOnlyDictionary<string, string> SourceKeys { get; }

    /// <summary>
    /// Tensors of a dtype ActorCkpt does not load (U16, F8_E4M3, …), mapped name → the files' dtype
    /// code: not in <see cref="Metadata"/>; a load that wants one is refused naming it, one that does not is not held up.
    /// </summary>
    public IReadOnlyDictionary<string, string> Unsupported { get; }

    /// <summary>
    /// Opens <paramref name="directory"/>, renaming keys by <paramref name="mapping"/>. Throws naming
    /// the file and the problem for a missing index or file, a key the index puts in a file that
    /// lacks it, a key in two files, or a malformed header.
    /// </summary>
    public static HuggingFaceCheckpoint Open(string directory, KeyMapping? mapping = null)
    {
        if (!System.IO.Directory.Exists(directory)) throw new DirectoryNotFoundException($"'{directory}' does not exist");
        var store = new LocalBlobStore(directory);
        IReadOnlyList<string> fileNames;
        Dictionary<string, string> weightMap;
        try
        {
            (fileNames, weightMap) = ReadWeightMap(store, directory);
        }
        catch (InvalidOperationException e)
        {
            // JsonDocument checks a name's or a string's encoding only when it is read (found by fuzz/, target hf-index).
            throw new CheckpointFormatException(Path.Combine(directory, HuggingFaceExporter.IndexFile), "is malformed: " + e.Message, e);
        }

        var entries = new Dictionary<string, (SafetensorsEntry Entry, string File, long DataStart)>(StringComparer.Ordinal);
        var unsupported = new Dictionary<string, string>(StringComparer.Ordinal);
        var files = new List<DataFileMetadata>();
        foreach (var file in fileNames)
        {
            if (!store.Exists(file)) throw new CheckpointFormatException(Path.Combine(directory, file), "is named by the index but does not exist");
            using var reader = store.OpenRead(file);
            var header = SafetensorsHeader.Read(reader, Path.Combine(directory, file), unknownDTypes: true);
            files.Add(new DataFileMetadata(file, reader.Length, Rank: 0, Writer: 0));
            foreach (var name in header.Entries.Select(e => e.Name).Concat(header.Unsupported.Keys))
            {
                if (weightMap.TryGetValue(name, out var listed) && listed != file)
                    throw new CheckpointFormatException(Path.Combine(directory, file), $"holds '{name}', which the index puts in '{listed}'");
                if (entries.ContainsKey(name) || unsupported.ContainsKey(name))
                    throw new CheckpointFormatException(Path.Combine(directory, file), $"holds '{name}' a second time");
            }
            foreach (var e in header.Entries) entries[e.Name] = (e, file, header.DataStart);
            foreach (var (name, code) in header.Unsupported) unsupported[name] = code;
        }
        foreach (var (key, file) in weightMap)
            if (!entries.ContainsKey(key) && !unsupported.ContainsKey(key))
                throw new CheckpointFormatException(Path.Combine(directory, file), $"lacks '{key}', which the index puts there");

        var renamed = (mapping ?? KeyMapping.Identity).Rename(entries.Keys.Concat(unsupported.Keys));
        var tensors = new Dictionary<string, TensorMetadata>(StringComparer.Ordinal);
        var unsupportedByName = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, source) in renamed)
        {
            if (unsupported.TryGetValue(source, out var code))
            {
                unsupportedByName[name] = code;
                continue;
            }
            var (e, file, dataStart) = entries[source];
            // Block size 1 and no checksums: reads are exact byte ranges, and nothing verifies them.
            var bytes = new StoredBytes(file, dataStart + e.Begin, e.Length, 1, Array.Empty<ulong>());
            tensors[name] = new TensorMetadata(name, e.DType, e.Shape, new[] { new StoredChunk(TensorBox.Whole(e.Shape), source, 0, bytes) });
        }
        var metadata = new CheckpointMetadata(CheckpointMetadata.CurrentFormatVersion, 0, 1, DateTimeOffset.UnixEpoch, tensors, Array.Empty<ObjectMetadata>(), files);
        return new HuggingFaceCheckpoint(directory, metadata, renamed.Where(r => !unsupported.ContainsKey(r.Value)).ToDictionary(StringComparer.Ordinal), unsupportedByName);
    }

    /// <summary>
    /// Performs <paramref name="plan"/> (from <see cref="ImportPlanner.Plan"/>), <paramref name="parallelism"/>
    /// reads at a time. A read whose region is one run in its destination too goes to the
    /// destination's memory a pooled buffer at a time (<see cref="CopiedReads"/>); others are read
    /// whole into a pooled buffer and copied element run by element run. Returns the bytes read.
    /// </summary>
    public long Read(LoadPlan plan, DestinationProvider destination, int parallelism)
    {
        long total = 0;
        ParallelReads.ForEach(plan.Reads, _files.OpenRead, parallelism, (read, reader) =>
        {
            var length = checked((int)read.RangeLength);
            var offset = read.Source.Bytes.Offset + read.RangeStart;
            var window = ChunkReader.Window(read, destination);
            if (read.Region.IsContiguousIn(read.TargetBox))
            {
                CopiedReads.ReadExactly(reader, window[..length], offset);
            }
            else
            {
                var buffer = ArrayPool<byte>.Shared.Rent(length);
                try
                {
                    reader.ReadExactly(buffer.AsSpan(0, length), offset);
                    ChunkReader.CopyRegion(read, buffer.AsSpan(0, length), window);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
            Interlocked.Add(ref total, length);
        });
        return total;
    }

    /// <summary>The data files to read and the index's weight_map (empty for a single model.safetensors, whose header alone says what it holds).</summary>
    private static (IReadOnlyList<string> Files, Dictionary<string, string> WeightMap) ReadWeightMap(LocalBlobStore store, string directory)
    {
        var indexPath = Path.Combine(directory, HuggingFaceExporter.IndexFile);
        if (!store.Exists(HuggingFaceExporter.IndexFile))
        {
            if (store.Exists(ExportLayout.SingleFile))
                return (new[] { ExportLayout.SingleFile }, new Dictionary<string, string>(StringComparer.Ordinal));
            throw new FileNotFoundException($"'{directory}' holds neither {HuggingFaceExporter.IndexFile} nor {ExportLayout.SingleFile}");
        }

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(RegularFile.ReadAllBytes(Path.GetFullPath(indexPath), HuggingFaceExporter.MaxIndexBytes, "an index"));
        }
        catch (JsonException e)
        {
            throw new CheckpointFormatException(indexPath, "is not valid JSON", e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new CheckpointFormatException(indexPath, "has no weight_map object");
            var weightMap = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in map.EnumerateObject())
            {
                var file = entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString()! : "";
                if (!MetadataValidator.IsPlainFileName(file))
                    throw new CheckpointFormatException(indexPath, $"weight_map puts '{entry.Name}' in '{entry.Value}', which is not a file name in the directory");
                // JSON allows a name twice and readers disagree on which one wins: refused, not guessed.
                if (!weightMap.TryAdd(entry.Name, file)) throw new CheckpointFormatException(indexPath, $"weight_map has '{entry.Name}' twice");
            }
            return (weightMap.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray(), weightMap);
        }
    }
}

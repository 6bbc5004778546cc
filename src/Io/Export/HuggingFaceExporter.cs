using System.Text.Json;

namespace ActorCkpt;

/// <summary>What dtype an export writes floating-point tensors in.</summary>
internal enum ExportDType
{
    /// <summary>As saved.</summary>
    Keep,

    /// <summary>BF16 (round to nearest even).</summary>
    BFloat16,

    /// <summary>F32.</summary>
    Float32,
}

/// <summary>Options of a Hugging Face export.</summary>
/// <param name="MaxShardBytes">Largest file (tensor bytes), as transformers' max_shard_size.</param>
/// <param name="DType">Dtype of floating-point tensors.</param>
/// <param name="ReferenceIndex">A model.safetensors.index.json whose file numbers the keys follow; null to split by size.</param>
/// <param name="Parallelism">Files written at once.</param>
internal sealed record ExportOptions(long MaxShardBytes = 5_000_000_000, ExportDType DType = ExportDType.Keep, string? ReferenceIndex = null, int Parallelism = 2)
{
    /// <summary>The checksum the step's metadata must still have (the one its checks saw), or null to take it as it is.</summary>
    public string? MetadataChecksum { get; init; }
}

/// <summary>What an export wrote.</summary>
/// <param name="Files">The data files, in order.</param>
/// <param name="Tensors">Tensors written.</param>
/// <param name="TotalSize">Bytes of tensor data (the index's metadata.total_size).</param>
/// <param name="Index">The index file, or null for a single model.safetensors.</param>
/// <param name="ReferenceKeysMissing">Keys the reference index names that the step does not hold (none without a reference), in order.</param>
/// <param name="EmptyFiles">Files that hold no tensor: a reference's file all of whose keys the step lacks.</param>
internal sealed record ExportResult(IReadOnlyList<string> Files, int Tensors, long TotalSize, string? Index,
    IReadOnlyList<string> ReferenceKeysMissing, IReadOnlyList<string> EmptyFiles);

/// <summary>
/// Consolidates a committed step into the Hugging Face layout: full (unsharded) tensors in
/// <c>model-0000i-of-0000N.safetensors</c> (a single <c>model.safetensors</c> when one file is
/// enough) with <c>model.safetensors.index.json</c> (<c>metadata.total_size</c>, <c>weight_map</c>);
/// each file's <c>__metadata__</c> is <c>{"format":"pt"}</c>. Non-tensor entries and optimizer
/// state (keys under <c>optim.</c> or <c>optimizer.</c>) are left out. Streaming: one slab of a
/// tensor (at most <see cref="FullTensorFileWriter.SlabBytes"/>) per file being written is in memory,
/// read from the checkpoint's chunks and verified against their checksums. The output appears whole
/// or not at all (<see cref="OutputFolder"/>): everything is written into a hidden folder beside
/// <c>OUT</c>, the index last, and put in place by a rename once every file is fsynced; a failure
/// leaves a previous export in <c>OUT</c> as it was.
/// </summary>
internal static class HuggingFaceExporter
{
    /// <summary>The index file's name.</summary>
    public const string IndexFile = "model.safetensors.index.json";

    /// <summary>
    /// The largest index read (a reference's or an import's), refused before it is read: the
    /// biggest published models' indexes are a few MB.
    /// </summary>
    public const long MaxIndexBytes = 256L << 20;

    /// <summary>
    /// Exports step <paramref name="step"/> of <paramref name="store"/> into <paramref name="outDir"/>,
    /// which must be missing, empty or a previous output of this tool (<see cref="OutputMarker"/>);
    /// <paramref name="fileWritten"/> hears each file as it completes, <paramref name="progress"/>
    /// the total of tensor bytes and then each tensor written. <paramref name="wrapOutput"/> wraps
    /// the store the files are written through (tests inject faults there).
    /// </summary>
    public static ExportResult Export(CheckpointStore store, long step, string outDir, ExportOptions options,
        Action<string, int>? fileWritten = null, IByteProgress? progress = null, Func<IBlobStore, IBlobStore>? wrapOutput = null)
    {
        var metadata = store.ReadMetadata(step, options.MetadataChecksum);
        var tensors = metadata.Tensors.Values
            .Where(t => !IsOptimizerState(t.Key))
            .Select(t => new ExportTensor(t.Key, Converted(t.DType, options.DType), t.Shape))
            .ToList();
        if (tensors.Count == 0) throw new ActorCkptException($"step {step} holds no model tensor to export");
        var (files, missing) = options.ReferenceIndex is null
            ? (ExportLayout.BySize(tensors, options.MaxShardBytes), Array.Empty<string>())
            : LikeReference(tensors, options.ReferenceIndex);

        // The reference (which may be the index of the export being replaced) is read above, before anything is written.
        var index = files.Count > 1 ? IndexFile : null;
        using var folder = OutputFolder.Begin(outDir, "export", wrapOutput);
        folder.Record(step, files.Select(f => f.Name).Concat(index is null ? [] : [index]).ToArray());
        progress?.AddTotal(files.Sum(f => f.DataBytes));
        var totalSize = files.Sum(f => f.DataBytes);
        folder.Complete(() =>
        {
            Parallel.ForEach(files, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.Parallelism) }, file =>
            {
                FullTensorFileWriter.Write(store, metadata, folder.Store, file, progress);
                fileWritten?.Invoke(file.Name, file.Tensors.Count);
            });
            // The index last: a folder with an index is one whose every data file is complete.
            if (index is not null) WriteAtomically(folder.Store, IndexFile, IndexJson(files, totalSize));
        });
        return new ExportResult(files.Select(f => f.Name).ToArray(), tensors.Count, totalSize, index, missing,
            files.Where(f => f.Tensors.Count == 0).Select(f => f.Name).ToArray());
    }

    /// <summary>True for keys of optimizer state, which an export leaves out.</summary>
    public static bool IsOptimizerState(string key) =>
        key.StartsWith("optim.", StringComparison.Ordinal) || key.StartsWith("optimizer.", StringComparison.Ordinal);

    private static DType Converted(DType saved, ExportDType wanted) =>
        !FloatConversion.IsFloat(saved) ? saved
        : wanted switch { ExportDType.BFloat16 => DType.BFloat16, ExportDType.Float32 => DType.Float32, _ => saved };

    /// <summary>The files <paramref name="tensors"/> go to by the reference at <paramref name="indexPath"/>, and the reference's keys none of them is.</summary>
    private static (IReadOnlyList<ExportFile> Files, IReadOnlyList<string> Missing) LikeReference(IReadOnlyList<ExportTensor> tensors, string indexPath)
    {
        using var doc = JsonDocument.Parse(RegularFile.ReadAllBytes(Path.GetFullPath(indexPath), MaxIndexBytes, "an index"));
        if (!doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
            throw new CheckpointFormatException(indexPath, "has no weight_map object");
        var fileOf = new Dictionary<string, int>(StringComparer.Ordinal);
        var count = 1;
        foreach (var entry in map.EnumerateObject())
        {
            var (number, of) = ExportLayout.ParseFileName(entry.Value.GetString() ?? "");
            fileOf[entry.Name] = number;
            count = Math.Max(count, of);
        }
        var held = tensors.Select(t => t.Key).ToHashSet(StringComparer.Ordinal);
        return (ExportLayout.LikeReference(tensors, fileOf, count), fileOf.Keys.Where(k => !held.Contains(k)).Order(StringComparer.Ordinal).ToArray());
    }

    private static byte[] IndexJson(IReadOnlyList<ExportFile> files, long totalSize)
    {
        using var json = new MemoryStream();
        using (var w = new Utf8JsonWriter(json, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartObject("metadata");
            w.WriteNumber("total_size", totalSize);
            w.WriteEndObject();
            w.WriteStartObject("weight_map");
            foreach (var (key, name) in files.SelectMany(f => f.Tensors.Select(t => (t.Key, f.Name))).OrderBy(p => p.Key, StringComparer.Ordinal))
                w.WriteString(key, name);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return json.ToArray();
    }

    private static void WriteAtomically(IBlobStore output, string name, byte[] bytes)
    {
        using (var writer = output.Create(name + ExportLayout.WritingSuffix))
        {
            writer.Write(bytes, 0);
            writer.Flush();
        }
        output.Rename(name + ExportLayout.WritingSuffix, name, overwrite: true);
    }
}

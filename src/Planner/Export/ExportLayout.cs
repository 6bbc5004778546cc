namespace ActorCkpt;

/// <summary>One tensor of a Hugging Face export: its key, dtype and shape as written.</summary>
/// <param name="Key">The key (the tensor's name in the output).</param>
/// <param name="DType">The dtype written.</param>
/// <param name="Shape">The full (unsharded) shape.</param>
internal sealed record ExportTensor(string Key, DType DType, IReadOnlyList<long> Shape)
{
    /// <summary>Bytes of the tensor as written.</summary>
    public long Bytes => Shapes.Volume(Shape) * DTypes.ElementSize(DType);
}

/// <summary>One output file and the tensors it holds, in order.</summary>
/// <param name="Name">"model.safetensors", or "model-0000i-of-0000N.safetensors".</param>
/// <param name="Tensors">Its tensors, in the order written.</param>
internal sealed record ExportFile(string Name, IReadOnlyList<ExportTensor> Tensors)
{
    /// <summary>Bytes of tensor data in the file.</summary>
    public long DataBytes => Tensors.Sum(t => t.Bytes);
}

/// <summary>
/// Splits tensors over Hugging Face checkpoint files (pure): in key order, a new file whenever the
/// next tensor would take the current one past the maximum shard size (a tensor larger than the
/// maximum gets a file of its own), as transformers' <c>save_pretrained</c> does; or, given a
/// reference index, each key in the file of the same number as there, keys the reference lacks in
/// the last file.
/// </summary>
internal static class ExportLayout
{
    /// <summary>The name of a model that fits in one file.</summary>
    public const string SingleFile = "model.safetensors";

    /// <summary>What an output file is named with while it is written, until the rename that puts it in place.</summary>
    public const string WritingSuffix = ".tmp";

    /// <summary>The files for <paramref name="tensors"/> at most <paramref name="maxShardBytes"/> each.</summary>
    public static IReadOnlyList<ExportFile> BySize(IEnumerable<ExportTensor> tensors, long maxShardBytes)
    {
        if (maxShardBytes <= 0) throw new ArgumentOutOfRangeException(nameof(maxShardBytes), maxShardBytes, "the maximum shard size must be positive");
        var groups = new List<List<ExportTensor>>();
        long size = 0;
        foreach (var t in tensors.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            if (groups.Count == 0 || (size > 0 && size + t.Bytes > maxShardBytes))
            {
                groups.Add(new List<ExportTensor>());
                size = 0;
            }
            groups[^1].Add(t);
            size += t.Bytes;
        }
        return Name(groups);
    }

    /// <summary>
    /// The files for <paramref name="tensors"/> following a reference index: <paramref name="fileOf"/>
    /// gives a key's 1-based file number there, <paramref name="referenceFiles"/> how many files it has.
    /// </summary>
    public static IReadOnlyList<ExportFile> LikeReference(IEnumerable<ExportTensor> tensors, IReadOnlyDictionary<string, int> fileOf, int referenceFiles)
    {
        if (referenceFiles < 1) throw new ArgumentOutOfRangeException(nameof(referenceFiles), referenceFiles, "a reference index names at least one file");
        var groups = Enumerable.Range(0, referenceFiles).Select(_ => new List<ExportTensor>()).ToList();
        foreach (var t in tensors.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            var n = fileOf.TryGetValue(t.Key, out var f) ? f : referenceFiles;
            if (n < 1 || n > referenceFiles) throw new ArgumentException($"the reference index puts '{t.Key}' in file {n} of {referenceFiles}", nameof(fileOf));
            groups[n - 1].Add(t);
        }
        return Name(groups);
    }

    /// <summary>The 1-based file number in a name "model-0000i-of-0000N.safetensors" (1 for "model.safetensors"); throws naming it otherwise.</summary>
    public static (int Number, int Of) ParseFileName(string name)
    {
        if (name == SingleFile) return (1, 1);
        var parts = name.Split('-', '.');
        if (parts.Length == 5 && parts[0] == "model" && parts[2] == "of" && parts[4] == "safetensors"
            && int.TryParse(parts[1], out var i) && int.TryParse(parts[3], out var n) && i >= 1 && i <= n)
            return (i, n);
        throw new ArgumentException($"'{name}' is not a Hugging Face checkpoint file name (model-0000i-of-0000N.safetensors)", nameof(name));
    }

    private static IReadOnlyList<ExportFile> Name(List<List<ExportTensor>> groups)
    {
        if (groups.Count == 1) return new[] { new ExportFile(SingleFile, groups[0]) };
        return groups.Select((g, i) => new ExportFile($"model-{i + 1:D5}-of-{groups.Count:D5}.safetensors", g)).ToArray();
    }
}

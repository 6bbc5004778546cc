namespace ActorCkpt;

/// <summary>How <c>unshard</c> lays full tensors out in files, OLMo-core's strategies.</summary>
internal enum UnshardStrategy
{
    /// <summary>Every tensor in one file, <c>{group}.safetensors</c>.</summary>
    OneFile,

    /// <summary>One file per tensor, <c>{group}/{key}.safetensors</c> (the key escaped to a plain file name).</summary>
    OneFilePerTensor,

    /// <summary>Files of about the chunk size, <c>{group}/chunk-00000.safetensors</c>, tensors in key order.</summary>
    Chunks,
}

/// <summary>The files of an unshard (pure).</summary>
internal static class UnshardLayout
{
    /// <summary>
    /// The files for <paramref name="tensors"/> of one group ("model" or "optim") under
    /// <paramref name="strategy"/>; <paramref name="chunkBytes"/> is the chunk size of <see cref="UnshardStrategy.Chunks"/>.
    /// </summary>
    public static IReadOnlyList<ExportFile> Plan(IReadOnlyList<ExportTensor> tensors, string group, UnshardStrategy strategy, long chunkBytes)
    {
        if (tensors.Count == 0) return Array.Empty<ExportFile>();
        var ordered = tensors.OrderBy(t => t.Key, StringComparer.Ordinal).ToArray();
        return strategy switch
        {
            UnshardStrategy.OneFile => new[] { new ExportFile($"{group}.safetensors", ordered) },
            UnshardStrategy.OneFilePerTensor => ordered.Select(t => new ExportFile($"{group}/{FileNameOf(t.Key)}", new[] { t })).ToArray(),
            _ => ExportLayout.BySize(ordered, chunkBytes).Select((f, i) => f with { Name = $"{group}/chunk-{i:D5}.safetensors" }).ToArray(),
        };
    }

    // NAME_MAX of Linux file systems (ext4, xfs, tmpfs): bytes of one path component, which the name
    // while it is written (with WritingSuffix) must fit too. Escaped keys are ASCII: a character is a byte.
    private const int NameMax = 255;
    private static readonly int MaxFileName = NameMax - ExportLayout.WritingSuffix.Length;

    /// <summary>The file of <paramref name="key"/> under one-file-per-tensor, refused before anything is written when its name is too long for a file system.</summary>
    private static string FileNameOf(string key)
    {
        var name = $"{Uri.EscapeDataString(key)}.safetensors";
        if (name.Length > MaxFileName)
            throw new ActorCkptException($"key '{(key.Length > 60 ? key[..60] + "…" : key)}' is too long for a file of its own ({name.Length} characters escaped, " +
                                         $"written as '…{ExportLayout.WritingSuffix}' first; file systems allow {NameMax}): " +
                                         "unshard with --strategy one-file or chunks");
        return name;
    }
}

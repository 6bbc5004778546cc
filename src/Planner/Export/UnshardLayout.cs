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
            UnshardStrategy.OneFilePerTensor => ordered.Select(t => new ExportFile($"{group}/{Uri.EscapeDataString(t.Key)}.safetensors", new[] { t })).ToArray(),
            _ => ExportLayout.BySize(ordered, chunkBytes).Select((f, i) => f with { Name = $"{group}/chunk-{i:D5}.safetensors" }).ToArray(),
        };
    }
}

namespace ActorCkpt.Planner;

/// <summary>
/// Checks that metadata read from disk is self-consistent before anything trusts it: file names
/// that stay inside the step directory, chunks that fit their tensor, do not overlap and cover it,
/// byte ranges that fit their file without overlapping, lengths that match shapes, and checksum
/// blocks that line up with elements.
/// </summary>
public static class MetadataValidator
{
    /// <summary>Returns one line per problem; empty when the metadata can be trusted.</summary>
    public static IReadOnlyList<string> Validate(CheckpointMetadata metadata)
    {
        var problems = new List<string>();
        if (metadata.Step < 0) problems.Add($"step {metadata.Step} is negative");
        if (metadata.WorldSize < 1) problems.Add($"world_size {metadata.WorldSize} is not positive");

        var files = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var f in metadata.Files)
        {
            if (!IsPlainFileName(f.Name)) problems.Add($"file name '{f.Name}' is not a plain name inside the step directory");
            else if (!files.TryAdd(f.Name, f.Length)) problems.Add($"file '{f.Name}' is listed twice");
        }

        var ranges = new List<(string File, long Start, long End, string Key)>();
        foreach (var t in metadata.Tensors.Values)
        {
            if (t.Shape.Any(s => s < 0)) problems.Add($"'{t.Key}': shape {Shapes.Format(t.Shape)} has a negative size");
            var size = DTypes.ElementSize(t.DType);
            var boxes = new List<TensorBox>();
            foreach (var c in t.Chunks)
            {
                if (!c.Box.FitsIn(t.Shape))
                {
                    problems.Add($"'{t.Key}': chunk {c.Box} does not fit shape {Shapes.Format(t.Shape)}");
                    continue;
                }
                boxes.Add(c.Box);
                CheckBytes(t.Key, c.Bytes, c.Box.Volume * size, size, files, problems, ranges);
            }
            if (SavePlanValidator.FindOverlap(boxes) is { } overlap)
                problems.Add($"'{t.Key}': chunks {overlap.A} and {overlap.B} overlap");
            else if (boxes.Count == t.Chunks.Count && boxes.Sum(b => b.Volume) != Shapes.Volume(t.Shape))
                problems.Add($"'{t.Key}': chunks cover {boxes.Sum(b => b.Volume)} of {Shapes.Volume(t.Shape)} elements");
        }

        var entries = new HashSet<(string, int)>();
        foreach (var o in metadata.Objects)
        {
            if (!entries.Add((o.Key, o.Scope == ObjectScope.Rank ? o.Rank : -1)))
                problems.Add($"entry '{o.Key}' of {(o.Scope == ObjectScope.Rank ? $"rank {o.Rank}" : "global scope")} is listed twice");
            CheckBytes(o.Key, o.Bytes, o.Bytes.Length, 1, files, problems, ranges);
        }

        foreach (var file in ranges.GroupBy(r => r.File))
        {
            var sorted = file.Where(r => r.End > r.Start).OrderBy(r => r.Start).ToList();
            for (var i = 1; i < sorted.Count; i++)
                if (sorted[i].Start < sorted[i - 1].End)
                    problems.Add($"'{sorted[i - 1].Key}' and '{sorted[i].Key}' overlap in file '{file.Key}'");
        }
        return problems;
    }

    /// <summary>True for a name that cannot leave the directory it is resolved in.</summary>
    public static bool IsPlainFileName(string name) =>
        name.Length > 0 && name != "." && name != ".." && name.IndexOfAny(new[] { '/', '\\', '\0' }) < 0;

    private static void CheckBytes(string key, StoredBytes b, long expectedLength, int elementSize,
        Dictionary<string, long> files, List<string> problems, List<(string, long, long, string)> ranges)
    {
        if (!files.TryGetValue(b.File, out var fileLength))
        {
            problems.Add($"'{key}' is in file '{b.File}', which the metadata does not list");
            return;
        }
        if (b.Length != expectedLength) problems.Add($"'{key}': {b.Length} bytes recorded, its shape needs {expectedLength}");
        if (b.Offset < 0 || b.Offset + b.Length > fileLength)
            problems.Add($"'{key}': bytes {b.Offset}..{b.Offset + b.Length} lie outside file '{b.File}' of {fileLength} bytes");
        if (b.BlockSize <= 0 || b.BlockSize % 8 != 0 || b.BlockSize % elementSize != 0)
        {
            problems.Add($"'{key}': checksum block size {b.BlockSize} is not a positive multiple of 8");
            return;
        }
        var blocks = (b.Length + b.BlockSize - 1) / b.BlockSize;
        if (b.BlockChecksums.Count != blocks) problems.Add($"'{key}': {b.BlockChecksums.Count} checksums recorded for {blocks} blocks");
        ranges.Add((b.File, b.Offset, b.Offset + b.Length, key));
    }
}

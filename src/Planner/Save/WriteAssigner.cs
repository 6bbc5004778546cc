namespace ActorCkpt;

/// <summary>
/// Splits each rank's items into data files and gives each file to a writer, balancing bytes
/// both ways (largest first onto the least loaded: the LPT rule). A file holds one rank's items
/// only. Placement decides which writers may take a rank's files: those on its own node
/// (<see cref="Placement.Local"/>) or all of them (<see cref="Placement.Spread"/>).
/// </summary>
internal static class WriteAssigner
{
    /// <summary>
    /// Data file name of rank <paramref name="rank"/>'s file number <paramref name="file"/> in the save
    /// attempt tagged <paramref name="tag"/>. The tag keeps two attempts at one step from ever
    /// writing the same path, so a stale writer cannot touch a newer attempt's files.
    /// </summary>
    public static string FileName(int rank, int file, string tag) => $"r{rank:D5}-{file:D3}-{tag}.safetensors";

    /// <summary>The name <paramref name="name"/> (from <see cref="FileName"/> with <paramref name="oldTag"/>) takes with <paramref name="newTag"/>.</summary>
    public static string Retag(string name, string oldTag, string newTag)
    {
        var suffix = $"-{oldTag}.safetensors";
        return name.EndsWith(suffix, StringComparison.Ordinal)
            ? string.Concat(name.AsSpan(0, name.Length - suffix.Length), $"-{newTag}.safetensors")
            : throw new ArgumentException($"'{name}' is not a data file name tagged '{oldTag}'", nameof(name));
    }

    /// <summary>
    /// Assigns the items of <paramref name="plans"/> (already deduplicated) to files and writers.
    /// <paramref name="writerNodes"/>[w] is the node of writer w; <paramref name="rankNodes"/> maps
    /// each rank to its node. <paramref name="filesPerRank"/> 0 means ceil(eligible writers / ranks
    /// sharing them), at least 1; <paramref name="tag"/> goes into every file name.
    /// </summary>
    public static IReadOnlyList<FileWritePlan> Assign(
        IReadOnlyList<LocalSavePlan> plans, IReadOnlyList<string> writerNodes, IReadOnlyDictionary<int, string> rankNodes,
        Placement placement, int filesPerRank, string tag)
    {
        if (writerNodes.Count < 1) throw new ArgumentOutOfRangeException(nameof(writerNodes), "at least one writer is needed");
        if (filesPerRank < 0) throw new ArgumentOutOfRangeException(nameof(filesPerRank), filesPerRank, "must be 0 (auto) or positive");
        var all = Enumerable.Range(0, writerNodes.Count).ToArray();
        var eligible = plans.ToDictionary(p => p.Rank, p => Eligible(all, writerNodes, rankNodes.GetValueOrDefault(p.Rank), placement));
        // Ranks sharing one set of writers share them out: ceil(writers / ranks) files each.
        var sharing = eligible.Values.GroupBy(e => string.Join(",", e)).ToDictionary(g => g.Key, g => g.Count());

        var files = new List<(int Rank, int Index, List<WriteItem> Items, long Bytes)>();
        foreach (var plan in plans.OrderBy(p => p.Rank))
        {
            if (plan.Items.Count == 0) continue;
            var writers = eligible[plan.Rank];
            var perRank = filesPerRank > 0 ? filesPerRank : Math.Max(1, (writers.Length + sharing[string.Join(",", writers)] - 1) / sharing[string.Join(",", writers)]);
            var count = Math.Min(perRank, plan.Items.Count);
            var bins = Enumerable.Range(0, count).Select(_ => (Items: new List<WriteItem>(), Bytes: 0L)).ToArray();
            foreach (var item in plan.Items.OrderByDescending(i => i.ByteLength).ThenBy(i => i.Index))
            {
                var target = 0;
                for (var b = 1; b < bins.Length; b++) if (bins[b].Bytes < bins[target].Bytes) target = b;
                bins[target].Items.Add(item);
                bins[target].Bytes += item.ByteLength;
            }
            for (var b = 0; b < bins.Length; b++)
                files.Add((plan.Rank, b, bins[b].Items.OrderBy(i => i.Index).ToList(), bins[b].Bytes));
        }

        var writerLoad = new long[writerNodes.Count];
        var writerOf = new Dictionary<(int, int), int>();
        foreach (var f in files.OrderByDescending(f => f.Bytes).ThenBy(f => f.Rank).ThenBy(f => f.Index))
        {
            var candidates = eligible[f.Rank];
            var w = candidates[0];
            foreach (var c in candidates) if (writerLoad[c] < writerLoad[w]) w = c;
            writerLoad[w] += f.Bytes;
            writerOf[(f.Rank, f.Index)] = w;
        }

        return files.Select(f =>
        {
            var w = writerOf[(f.Rank, f.Index)];
            return new FileWritePlan(FileName(f.Rank, f.Index, tag), f.Rank, w, f.Items, writerNodes[w]);
        }).ToArray();
    }

    /// <summary>
    /// Moves file <paramref name="fileIndex"/> of <paramref name="files"/> off a writer that was lost,
    /// onto the least loaded (by bytes it already has among <paramref name="files"/>) of the
    /// <paramref name="survivors"/>, indices into <paramref name="writerNodes"/>, taken in their order
    /// on a tie. Placement applies as in <see cref="Assign"/>: a local save stays on its rank's node
    /// <paramref name="rankNode"/> while a writer is left there. Null when no survivor is left.
    /// </summary>
    public static FileWritePlan? Reassign(
        IReadOnlyList<FileWritePlan> files, int fileIndex, IReadOnlyList<string> writerNodes, IReadOnlyList<int> survivors,
        string? rankNode, Placement placement)
    {
        var candidates = Eligible(survivors, writerNodes, rankNode, placement);
        if (candidates.Length == 0) return null;
        var load = new long[writerNodes.Count];
        foreach (var f in files) load[f.WriterIndex] += f.DataBytes;
        var writer = candidates[0];
        foreach (var c in candidates) if (load[c] < load[writer]) writer = c;
        return files[fileIndex] with { WriterIndex = writer, WriterNode = writerNodes[writer] };
    }

    /// <summary>The writers (of <paramref name="writers"/>) that may take a file of a rank on <paramref name="rankNode"/>.</summary>
    private static int[] Eligible(IReadOnlyList<int> writers, IReadOnlyList<string> writerNodes, string? rankNode, Placement placement)
    {
        if (placement == Placement.Spread || rankNode is null) return writers.ToArray();
        var local = writers.Where(w => writerNodes[w] == rankNode).ToArray();
        return local.Length > 0 ? local : writers.ToArray();
    }
}

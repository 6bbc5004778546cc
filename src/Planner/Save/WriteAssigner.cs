using System.Runtime.ExceptionServices;

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
    public static string Retag(string name, string oldTag, string newTag) => Retag(name, oldTag, Suffix(oldTag), Suffix(newTag));

    /// <summary><see cref="Retag(string, string, string)"/> with both tags' <see cref="Suffix"/>es made once for many names.</summary>
    internal static string Retag(string name, string oldTag, string oldSuffix, string newSuffix) =>
        name.EndsWith(oldSuffix, StringComparison.Ordinal)
            ? string.Concat(name.AsSpan(0, name.Length - oldSuffix.Length), newSuffix)
            : throw new ArgumentException($"'{name}' is not a data file name tagged '{oldTag}'", nameof(name));

    /// <summary>How a data file name tagged <paramref name="tag"/> ends.</summary>
    internal static string Suffix(string tag) => $"-{tag}.safetensors";

    /// <summary>
    /// Assigns the items of <paramref name="plans"/> (already deduplicated) to files and writers.
    /// <paramref name="writerNodes"/>[w] is the node of writer w; <paramref name="rankNodes"/> maps
    /// each rank to its node. <paramref name="filesPerRank"/> 0 means ceil(eligible writers / ranks
    /// sharing them), at least 1; <paramref name="tag"/> goes into every file name.
    /// </summary>
    public static IReadOnlyList<FileWritePlan> Assign(
        IReadOnlyList<LocalSavePlan> plans, IReadOnlyList<string> writerNodes, IReadOnlyDictionary<int, string> rankNodes,
        Placement placement, int filesPerRank, string tag) =>
        Assign(plans, writerNodes, rankNodes, placement, filesPerRank, tag, null);

    /// <summary>
    /// <see cref="Assign(IReadOnlyList{LocalSavePlan}, IReadOnlyList{string}, IReadOnlyDictionary{int, string}, Placement, int, string)"/>
    /// with each plan's item sizes and indices already read (<paramref name="sizes"/>[k] for
    /// <paramref name="plans"/>[k], from the dedup), or null to read them from the items.
    /// </summary>
    internal static IReadOnlyList<FileWritePlan> Assign(
        IReadOnlyList<LocalSavePlan> plans, IReadOnlyList<string> writerNodes, IReadOnlyDictionary<int, string> rankNodes,
        Placement placement, int filesPerRank, string tag, IReadOnlyList<SavePlanDeduplicator.ItemSizes>? sizes)
    {
        if (writerNodes.Count < 1) throw new ArgumentOutOfRangeException(nameof(writerNodes), "at least one writer is needed");
        if (filesPerRank < 0) throw new ArgumentOutOfRangeException(nameof(filesPerRank), filesPerRank, "must be 0 (auto) or positive");
        var all = Enumerable.Range(0, writerNodes.Count).ToArray();
        // Ranks on one node share one array of eligible writers (4,096 ranks, a handful of nodes).
        var byNode = new Dictionary<string, int[]>(StringComparer.Ordinal);
        int[]? unknownNode = null;
        int[] EligibleOn(string? node) => node is null
            ? unknownNode ??= Eligible(all, writerNodes, null, placement)
            : byNode.TryGetValue(node, out var e) ? e : byNode[node] = Eligible(all, writerNodes, node, placement);
        var eligible = plans.ToDictionary(p => p.Rank, p => EligibleOn(rankNodes.GetValueOrDefault(p.Rank)));
        // Ranks sharing one set of writers share them out: ceil(writers / ranks) files each.
        var setOf = new Dictionary<int[], string>(ReferenceEqualityComparer.Instance);
        string SetOf(int[] writers) => setOf.TryGetValue(writers, out var s) ? s : setOf[writers] = string.Join(",", writers);
        var sharing = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var e in eligible.Values) sharing[SetOf(e)] = sharing.GetValueOrDefault(SetOf(e)) + 1;

        // Each rank's files are its own affair: ranks are split into files side by side, each into
        // its own slot, and the files are then listed in rank order as one loop would list them.
        var positions = SortedByRank(plans).Where(k => plans[k].Items.Count > 0).ToArray();
        var sorted = positions.Select(k => plans[k]).ToArray();
        var counts = new int[sorted.Length];
        for (var k = 0; k < sorted.Length; k++)
        {
            var writers = eligible[sorted[k].Rank];
            var share = sharing[SetOf(writers)];
            var perRank = filesPerRank > 0 ? filesPerRank : Math.Max(1, (writers.Length + share - 1) / share);
            counts[k] = Math.Min(perRank, sorted[k].Items.Count);
        }
        var perPlan = new (int Rank, int Index, List<WriteItem> Items, long Bytes)[sorted.Length][];
        var failures = new ExceptionDispatchInfo?[sorted.Length];
        Parallel.For(0, sorted.Length, k =>
        {
            try
            {
                perPlan[k] = Split(sorted[k], counts[k], sizes?[positions[k]]);
            }
            catch (Exception e)
            {
                failures[k] = ExceptionDispatchInfo.Capture(e);
            }
        });
        var files = new List<(int Rank, int Index, List<WriteItem> Items, long Bytes)>(sorted.Length);
        for (var k = 0; k < sorted.Length; k++)
        {
            failures[k]?.Throw(); // the first rank's failure, as one loop would have met it
            files.AddRange(perPlan[k]);
        }

        var writerLoad = new long[writerNodes.Count];
        var writerOf = new int[files.Count];
        var order = Enumerable.Range(0, files.Count).ToArray();
        // Largest first, then by rank and file number: a total order (a rank's file numbers are distinct).
        Array.Sort(order, (a, b) =>
        {
            var c = files[b].Bytes.CompareTo(files[a].Bytes);
            if (c == 0) c = files[a].Rank.CompareTo(files[b].Rank);
            return c != 0 ? c : files[a].Index.CompareTo(files[b].Index);
        });
        foreach (var k in order)
        {
            var candidates = eligible[files[k].Rank];
            var w = candidates[0];
            foreach (var c in candidates) if (writerLoad[c] < writerLoad[w]) w = c;
            writerLoad[w] += files[k].Bytes;
            writerOf[k] = w;
        }

        var result = new FileWritePlan[files.Count];
        for (var k = 0; k < files.Count; k++)
        {
            var (rank, index, items, _) = files[k];
            var w = writerOf[k];
            result[k] = new FileWritePlan(FileName(rank, index, tag), rank, w, items, writerNodes[w]);
        }
        return result;
    }

    /// <summary>Rank <paramref name="plan"/>'s items in <paramref name="count"/> files, bytes balanced largest first (LPT), each file's items by index.</summary>
    private static (int Rank, int Index, List<WriteItem> Items, long Bytes)[] Split(LocalSavePlan plan, int count, SavePlanDeduplicator.ItemSizes? sizes)
    {
        if (count == 1 && (sizes is { } known ? StrictlyAscending(known.Index) : StrictlyAscending(plan.Items)))
        {
            // One file takes every item, in index order (no tie on an index for the sort by
            // bytes to have decided).
            var items = new List<WriteItem>(plan.Items);
            long bytes = 0;
            if (sizes is { } s) foreach (var b in s.Bytes) bytes += b;
            else foreach (var item in items) bytes += item.ByteLength;
            return new[] { (plan.Rank, 0, items, bytes) };
        }
        var bins = Enumerable.Range(0, count).Select(_ => (Items: new List<WriteItem>(), Bytes: 0L)).ToArray();
        foreach (var item in LargestFirst(plan.Items))
        {
            var target = 0;
            for (var b = 1; b < bins.Length; b++) if (bins[b].Bytes < bins[target].Bytes) target = b;
            bins[target].Items.Add(item);
            bins[target].Bytes += item.ByteLength;
        }
        return bins.Select((bin, b) => (plan.Rank, b, SortedByIndex(bin.Items), bin.Bytes)).ToArray();
    }

    /// <summary>The positions of the plans by rank, keeping the given order among plans of one rank (a stable sort).</summary>
    private static IEnumerable<int> SortedByRank(IReadOnlyList<LocalSavePlan> plans)
    {
        for (var p = 1; p < plans.Count; p++)
            if (plans[p].Rank < plans[p - 1].Rank) return Enumerable.Range(0, plans.Count).OrderBy(k => plans[k].Rank);
        return Enumerable.Range(0, plans.Count);
    }

    private static bool StrictlyAscending(int[] indices)
    {
        for (var i = 1; i < indices.Length; i++)
            if (indices[i] <= indices[i - 1]) return false;
        return true;
    }

    private static bool StrictlyAscending(IReadOnlyList<WriteItem> items)
    {
        for (var i = 1; i < items.Count; i++)
            if (items[i].Index <= items[i - 1].Index) return false;
        return true;
    }

    /// <summary>The items by index, keeping their order among equal indices (a stable sort).</summary>
    private static List<WriteItem> SortedByIndex(IReadOnlyList<WriteItem> items)
    {
        for (var i = 1; i < items.Count; i++)
            if (items[i].Index < items[i - 1].Index) return items.OrderBy(x => x.Index).ToList();
        return new List<WriteItem>(items);
    }

    /// <summary>The items by bytes, largest first, then by index, keeping their order on a full tie (a stable sort).</summary>
    private static WriteItem[] LargestFirst(IReadOnlyList<WriteItem> items)
    {
        var bytes = new long[items.Count];
        var order = new int[items.Count];
        for (var i = 0; i < items.Count; i++) (bytes[i], order[i]) = (items[i].ByteLength, i);
        Array.Sort(order, (a, b) =>
        {
            var c = bytes[b].CompareTo(bytes[a]);
            if (c == 0) c = items[a].Index.CompareTo(items[b].Index);
            return c != 0 ? c : a.CompareTo(b);
        });
        return Array.ConvertAll(order, i => items[i]);
    }

    /// <summary>
    /// Moves file <paramref name="fileIndex"/> of <paramref name="files"/> off a writer that was lost,
    /// onto the least loaded (by bytes it already has among <paramref name="files"/>) of the
    /// <paramref name="survivors"/>, indices into <paramref name="writerNodes"/>, taken in their order
    /// on a tie. Placement applies as in <see cref="Assign(IReadOnlyList{LocalSavePlan}, IReadOnlyList{string}, IReadOnlyDictionary{int, string}, Placement, int, string)"/>: a local save stays on its rank's node
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

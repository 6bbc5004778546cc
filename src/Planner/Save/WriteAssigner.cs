namespace ActorCkpt.Planner;

/// <summary>
/// Splits each rank's items into data files and gives each file to a writer, balancing bytes
/// both ways (largest first onto the least loaded: the LPT rule). A file holds one rank's items
/// only, so the rank can hand its staged buffers to the writer by reference.
/// </summary>
public static class WriteAssigner
{
    /// <summary>
    /// Data file name of rank <paramref name="rank"/>'s file number <paramref name="file"/> in the save
    /// attempt tagged <paramref name="tag"/>. The tag keeps two attempts at one step from ever
    /// writing the same path, so a stale writer cannot touch a newer attempt's files.
    /// </summary>
    public static string FileName(int rank, int file, string tag) => $"r{rank:D5}-{file:D3}-{tag}.safetensors";

    /// <summary>
    /// Assigns the items of <paramref name="plans"/> (already deduplicated) to files and writers.
    /// <paramref name="filesPerRank"/> 0 means ceil(writers / ranks), at least 1; <paramref name="tag"/>
    /// goes into every file name (see <see cref="FileName"/>).
    /// </summary>
    public static IReadOnlyList<FileWritePlan> Assign(IReadOnlyList<LocalSavePlan> plans, int writerCount, int filesPerRank, string tag)
    {
        if (writerCount < 1) throw new ArgumentOutOfRangeException(nameof(writerCount), writerCount, "at least one writer is needed");
        if (filesPerRank < 0) throw new ArgumentOutOfRangeException(nameof(filesPerRank), filesPerRank, "must be 0 (auto) or positive");
        var perRank = filesPerRank > 0 ? filesPerRank : Math.Max(1, (writerCount + plans.Count - 1) / Math.Max(1, plans.Count));

        var files = new List<(int Rank, int Index, List<WriteItem> Items, long Bytes)>();
        foreach (var plan in plans.OrderBy(p => p.Rank))
        {
            if (plan.Items.Count == 0) continue;
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

        var writerLoad = new long[writerCount];
        var writerOf = new Dictionary<(int, int), int>();
        foreach (var f in files.OrderByDescending(f => f.Bytes).ThenBy(f => f.Rank).ThenBy(f => f.Index))
        {
            var w = 0;
            for (var i = 1; i < writerCount; i++) if (writerLoad[i] < writerLoad[w]) w = i;
            writerLoad[w] += f.Bytes;
            writerOf[(f.Rank, f.Index)] = w;
        }

        return files.Select(f => new FileWritePlan(FileName(f.Rank, f.Index, tag), f.Rank, writerOf[(f.Rank, f.Index)], f.Items)).ToArray();
    }
}

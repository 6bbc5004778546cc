namespace ActorCkpt;

/// <summary>
/// Places the copies of a memory round's files (pure): each file on <c>R</c> distinct hosts by
/// <see cref="ReplicaPlacement.Holders"/>, the rank's own host first, and each copy with a writer of
/// its host. The primary keeps the writer the global plan gave it when that writer is on the own
/// host; every other copy goes to the least loaded writer of its host (fewest bytes so far, then
/// registration order), so a host's writers share its copies.
/// </summary>
internal static class MemoryAssignments
{
    /// <summary>
    /// The copies of every file of <paramref name="plan"/> (written by <paramref name="planWriters"/>),
    /// in file order and replica order within a file; or the problem that prevents placing them
    /// (too few hosts for <paramref name="replicas"/>). <paramref name="ownHostOfRank"/> gives each
    /// rank's host (null: its node holds no replicas); <paramref name="nodeOf"/> a writer's node.
    /// </summary>
    public static (IReadOnlyList<CopyAssignment<TRef>> Copies, string? Problem) Place<TRef>(
        GlobalSavePlan plan, IReadOnlyList<TRef> planWriters, Func<int, string?> ownHostOfRank, MemoryView<TRef> view, int replicas, Func<TRef, string> nodeOf)
        where TRef : notnull
    {
        var hosts = view.WritersByHost.Where(h => h.Value.Count > 0).Select(h => h.Key).ToArray();
        if (ReplicaPlacement.Problem(replicas, hosts) is { } problem) return (Array.Empty<CopyAssignment<TRef>>(), problem);
        var load = new Dictionary<TRef, long>();
        var copies = new List<CopyAssignment<TRef>>();
        for (var i = 0; i < plan.Files.Count; i++)
        {
            var file = plan.Files[i];
            var own = ownHostOfRank(file.Rank);
            var holders = ReplicaPlacement.Holders(own is not null && hosts.Contains(own) ? own : null, hosts, replicas, i);
            for (var replica = 0; replica < holders.Count; replica++)
            {
                var host = holders[replica];
                var planned = file.WriterIndex < planWriters.Count ? planWriters[file.WriterIndex] : default;
                var writer = replica == 0 && planned is not null && view.HostOfNode(nodeOf(planned)) == host
                    ? planned
                    : LeastLoaded(view.WritersByHost[host], load);
                load[writer] = load.GetValueOrDefault(writer) + file.DataBytes;
                copies.Add(new CopyAssignment<TRef>(file, replica, host, writer));
            }
        }
        return (copies, null);
    }

    /// <summary>The bytes each host is to receive from <paramref name="copies"/>, each copy taking <paramref name="bytesOf"/> its file.</summary>
    public static IReadOnlyDictionary<string, long> BytesByHost<TRef>(IEnumerable<CopyAssignment<TRef>> copies, Func<FileWritePlan, long> bytesOf) =>
        copies.GroupBy(c => c.Host, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Sum(c => bytesOf(c.File)), StringComparer.Ordinal);

    /// <summary>
    /// The catalog's record of <paramref name="copies"/>: the hosts (ordinal order), and for every
    /// file its holders in replica order (the own host first), none lost yet.
    /// </summary>
    public static MemoryCopies Recorded<TRef>(IReadOnlyList<CopyAssignment<TRef>> copies, string metadataChecksum)
    {
        var hosts = copies.Select(c => c.Host).Distinct().Order(StringComparer.Ordinal).ToArray();
        var shards = copies.GroupBy(c => c.File.FileName, StringComparer.Ordinal)
            .Select(g => new ShardHolders(g.Key, g.First().File.Rank, g.OrderBy(c => c.Replica).Select(c => Array.IndexOf(hosts, c.Host)).ToArray(), Array.Empty<int>()))
            .ToArray();
        return new MemoryCopies(hosts, shards, metadataChecksum);
    }

    private static TRef LeastLoaded<TRef>(IReadOnlyList<TRef> writers, Dictionary<TRef, long> load) where TRef : notnull
    {
        var best = writers[0];
        foreach (var w in writers)
            if (load.GetValueOrDefault(w) < load.GetValueOrDefault(best)) best = w;
        return best;
    }
}

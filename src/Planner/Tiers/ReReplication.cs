namespace ActorCkpt;

/// <summary>
/// Which copies re-replication makes (pure): for every data file of a memory step left with fewer
/// than R copies on live hosts, a surviving copy to copy from and the hosts to copy it to, so that
/// the file again has R copies on distinct hosts. Targets follow <see cref="ReplicaPlacement.Replace"/>
/// (the ring host after the lost one's place that holds no copy), so the planner and anyone
/// re-checking the catalog agree.
/// </summary>
internal static class ReReplication
{
    /// <summary>
    /// The copies to make of <paramref name="copies"/> with <paramref name="replicas"/> copies wanted,
    /// hosts alive as <paramref name="live"/> says, a new copy going only to one of
    /// <paramref name="candidates"/> (the hosts whose holders are up). A file with no surviving copy
    /// gets none (nothing to copy from); one short of hosts gets what the hosts allow.
    /// </summary>
    public static IReadOnlyList<CopyToMake> Plan(MemoryCopies copies, int replicas, Func<string, bool> live, IReadOnlyCollection<string> candidates)
    {
        if (replicas < 1) throw new ArgumentOutOfRangeException(nameof(replicas), $"replicas = {replicas}: must be 1 or more");
        var make = new List<CopyToMake>();
        if (copies.Evicted) return make;
        foreach (var shard in copies.Shards)
        {
            var names = shard.Holders.Select(h => copies.Hosts[h]).ToList();
            var surviving = shard.Holders.Where(h => !shard.Lost.Contains(h) && live(copies.Hosts[h])).Select(h => copies.Hosts[h]).ToList();
            if (surviving.Count == 0 || surviving.Count >= replicas) continue;
            // The copies that went, in placement order: each one's place in the ring picks its successor.
            var gone = names.Where(n => !surviving.Contains(n, StringComparer.Ordinal)).ToList();
            var hosts = candidates.Where(live).ToArray();
            for (var i = 0; surviving.Count < replicas && i < gone.Count; i++)
            {
                if (ReplicaPlacement.Replace(names, gone[i], hosts) is not { } target) break;
                make.Add(new CopyToMake(shard.File, surviving[0], target));
                names.Add(target);
                surviving.Add(target);
            }
        }
        return make;
    }
}

/// <summary>One copy re-replication makes.</summary>
/// <param name="File">The data file.</param>
/// <param name="Source">A host with a sound copy of it.</param>
/// <param name="Target">The host that gets a copy.</param>
internal sealed record CopyToMake(string File, string Source, string Target);

namespace ActorCkpt;

/// <summary>
/// Brings the catalog and one host's replicas into agreement when the host announces what it holds
/// (its holder started, or the planner asked after a restart). The catalog says where copies were
/// acknowledged; the host's files say what survived: a process restarted on the same host keeps its
/// tmpfs files, a replaced machine has none. Only the copy of the same attempt counts: data file
/// names carry the attempt's tag, and a replica's header its save id.
/// </summary>
internal static class ReplicaInventory
{
    /// <summary>
    /// Compares the copies <paramref name="catalog"/> places on <paramref name="host"/> with those the
    /// host <paramref name="held"/>, for the memory steps whose copies are held (committed, not evicted).
    /// A copy of a memory round in flight (the same attempt) is neither lost nor debris: the round is
    /// still writing it.
    /// </summary>
    public static Inventory Reconcile(CheckpointCatalog catalog, string host, IReadOnlyCollection<HeldCopy> held, DateTimeOffset now)
    {
        var have = held.ToHashSet();
        var owned = new HashSet<HeldCopy>();
        var lost = new List<ReplicasLost>();
        var restored = new List<ReplicasRestored>();
        foreach (var entry in catalog.Entries)
        {
            if (entry is { Status: CheckpointStatus.InFlight, Tier: StorageTier.Memory })
            {
                owned.UnionWith(held.Where(c => c.Step == entry.Step && c.SaveId == entry.SaveId));
                continue;
            }
            if (!entry.InMemory || entry.Memory!.IndexOf(host) is var h && h < 0) continue;
            var gone = new List<string>();
            var back = new List<string>();
            foreach (var shard in entry.Memory.Shards.Where(s => s.Holders.Contains(h)))
            {
                var copy = new HeldCopy(entry.Step, entry.SaveId, shard.File);
                var marked = shard.Lost.Contains(h);
                if (have.Contains(copy))
                {
                    owned.Add(copy);
                    if (marked) back.Add(shard.File);
                }
                else if (!marked)
                {
                    gone.Add(shard.File);
                }
            }
            if (gone.Count > 0) lost.Add(new ReplicasLost(entry.Step, host, gone, $"not on {host} when it announced its replicas (a new machine, or its tmpfs cleared)", now));
            if (back.Count > 0) restored.Add(new ReplicasRestored(entry.Step, host, back, now));
        }
        var debris = held.Where(c => !owned.Contains(c)).OrderBy(c => c.Step).ThenBy(c => c.File, StringComparer.Ordinal).ToArray();
        return new Inventory(lost, restored, debris);
    }
}

namespace ActorCkpt;

/// <summary>
/// Which committed step a load reads, and from which tier: the newest step still loadable, memory
/// before disk when a step is on both (the fast path), disk when memory cannot serve every shard,
/// the object tier when neither holds it.
/// </summary>
internal static class LoadSources
{
    /// <summary>
    /// The newest loadable committed step (or <paramref name="requested"/>), limited to
    /// <paramref name="only"/> when given. Memory is loadable when not evicted and every shard has
    /// a holder neither lost nor dead (<paramref name="live"/> false counts as lost). A step on both
    /// tiers loads from memory. Holder order: <paramref name="ownHost"/> first, then placement order.
    /// Steps passed over, and a step's memory copy passed over for its disk copy, are named in
    /// <see cref="LoadChoice.PassedOver"/>; with nothing loadable the refusal says why for each step.
    /// </summary>
    /// <param name="committed">Every committed step, in any order.</param>
    /// <param name="requested">A step asked for by number; null for the newest loadable.</param>
    /// <param name="only">A tier the load is limited to; null for either.</param>
    /// <param name="live">Whether a host has a live holder now.</param>
    /// <param name="ownHost">The loading rank's host, tried first; null when unknown.</param>
    public static (LoadChoice? Choice, string? Refusal) Choose(IReadOnlyList<TieredStep> committed, long? requested,
        StorageTier? only, Func<string, bool> live, string? ownHost)
    {
        var seen = new HashSet<long>();
        foreach (var s in committed)
        {
            if (!seen.Add(s.Step)) throw new ArgumentException($"step {s.Step} is listed twice among the committed steps", nameof(committed));
        }

        var passedOver = new List<string>();
        if (requested is { } wanted)
        {
            var entry = committed.FirstOrDefault(s => s.Step == wanted);
            if (entry is null) return (null, $"step {wanted} is not a committed checkpoint");
            var (choice, why) = Try(entry, only, live, ownHost, passedOver);
            return choice is not null ? (choice, null) : (null, $"step {wanted} cannot be loaded{Limit(only)}: {why}");
        }

        foreach (var entry in committed.OrderByDescending(s => s.Step))
        {
            var (choice, why) = Try(entry, only, live, ownHost, passedOver);
            if (choice is not null) return (choice, null);
            passedOver.Add($"step {entry.Step}: {why}");
        }
        return committed.Count == 0
            ? (null, "no committed checkpoint")
            : (null, $"no committed step is loadable{Limit(only)}: {Problems.Line(passedOver)}");
    }

    /// <summary>The step from the first tier that can serve it, or null and why not (one line).</summary>
    private static (LoadChoice? Choice, string Why) Try(TieredStep entry, StorageTier? only, Func<string, bool> live, string? ownHost, List<string> passedOver)
    {
        var why = new List<string>(2);
        string? evicted = null;
        if (only is null or StorageTier.Memory)
        {
            if (entry.Memory is null) { if (only == StorageTier.Memory) why.Add("not in memory"); }
            else if (entry.Memory.Evicted) evicted = "evicted from memory";
            else
            {
                var (holders, missing, gone) = Holders(entry.Step, entry.Memory, live, ownHost);
                if (missing.Count == 0) return (new LoadChoice(entry.Step, StorageTier.Memory, holders, passedOver.ToArray()), "");
                // Every file gone (the whole cluster lost): the hosts say it; a line per file would only repeat them.
                why.Add(missing.Count > 1 && missing.Count == entry.Memory.Shards.Count && gone.Count > 0
                    ? $"not loadable from memory: none of its {missing.Count} files has a holder left, all were on {string.Join(", ", gone)}"
                    : $"not loadable from memory: {Problems.Line(missing)}");
            }
        }
        // An evicted copy is the normal end of a persisted step's memory life, not news.
        LoadChoice From(StorageTier tier) => new(entry.Step, tier, new Dictionary<string, IReadOnlyList<string>>(),
            why.Count == 0 ? passedOver.ToArray() : [.. passedOver, $"step {entry.Step}: {string.Join("; ", why)}"]);
        if (only is null or StorageTier.Disk)
        {
            if (entry.OnDisk) return (From(StorageTier.Disk), "");
            // Not said of a step the object tier serves: retention taking it off the disk is how it got there.
            if (only is null && entry.OnObject) return (From(StorageTier.Object), "");
            why.Add("not on disk");
        }
        if (only == StorageTier.Object)
        {
            if (entry.OnObject) return (From(StorageTier.Object), "");
            // Said only where the object tier is asked for: the line of a tier nobody uses is noise.
            why.Add("not in the object tier");
        }
        if (evicted is not null) why.Insert(0, evicted);
        return (null, string.Join("; ", why));
    }

    /// <summary>Per file the usable hosts in try order, a line for each file with none, and every holder that cannot serve (said once each, in host order).</summary>
    private static (Dictionary<string, IReadOnlyList<string>> Holders, List<string> Missing, List<string> Gone) Holders(
        long step, MemoryCopies memory, Func<string, bool> live, string? ownHost)
    {
        var holders = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        var missing = new List<string>();
        var goneHosts = new SortedDictionary<int, string>();
        foreach (var shard in memory.Shards)
        {
            if (holders.ContainsKey(shard.File)) throw new ArgumentException($"step {step}: file {shard.File} is listed twice among its memory shards", nameof(memory));
            var usable = new List<string>(shard.Holders.Count);
            var gone = new List<string>();
            foreach (var index in shard.Holders)
            {
                var host = Host(step, memory, shard, index);
                if (shard.Lost.Contains(index)) gone.Add($"{host} (lost)");
                else if (!live(host)) gone.Add($"{host} (not live)");
                else
                {
                    if (!usable.Contains(host, StringComparer.Ordinal)) usable.Add(host);
                    continue;
                }
                goneHosts.TryAdd(index, gone[^1]);
            }
            foreach (var index in shard.Lost) Host(step, memory, shard, index);

            // Own host first: it reads its own tmpfs without the network.
            var own = ownHost is null ? -1 : usable.FindIndex(h => string.Equals(h, ownHost, StringComparison.Ordinal));
            if (own > 0) { usable.RemoveAt(own); usable.Insert(0, ownHost!); }

            holders[shard.File] = usable;
            if (usable.Count == 0)
                missing.Add(gone.Count == 0 ? $"{shard.File} (rank {shard.Rank}) has no holder" : $"{shard.File} (rank {shard.Rank}) held only on {string.Join(", ", gone)}");
        }
        return (holders, missing, goneHosts.Values.ToList());
    }

    private static string Host(long step, MemoryCopies memory, ShardHolders shard, int index) =>
        index >= 0 && index < memory.Hosts.Count
            ? memory.Hosts[index]
            : throw new ArgumentException($"step {step}: file {shard.File} names host {index}, but the step records {memory.Hosts.Count} hosts", nameof(memory));

    private static string Limit(StorageTier? only) => only switch
    {
        StorageTier.Disk => " from disk",
        StorageTier.Memory => " from memory",
        StorageTier.Object => " from the object tier",
        _ => "",
    };
}

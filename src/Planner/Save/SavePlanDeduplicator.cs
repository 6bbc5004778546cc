namespace ActorCkpt.Planner;

/// <summary>
/// Removes replicated items so each chunk and each global entry is written exactly once.
/// Chunks with no elements are dropped (their tensor stays known through the plan's descriptors).
/// </summary>
public static class SavePlanDeduplicator
{
    /// <summary>
    /// Returns one plan per input plan, keeping for every group of identical chunks (same key and
    /// box) a single holder chosen by <paramref name="strategy"/>, and for every global entry the
    /// lowest rank's value.
    /// Deterministic: the same plans always give the same result.
    /// </summary>
    public static IReadOnlyList<LocalSavePlan> Dedup(IReadOnlyList<LocalSavePlan> plans, DedupStrategy strategy)
    {
        var groups = new Dictionary<(WriteItemKind, string, TensorBox), List<WriteItem>>();
        var load = new Dictionary<int, long>();
        foreach (var plan in plans)
        {
            load[plan.Rank] = 0;
            foreach (var item in plan.Items)
            {
                if (item.Kind == WriteItemKind.Tensor && item.Box.Volume == 0) continue;
                if (item.Kind == WriteItemKind.Object && item.Scope == ObjectScope.Rank)
                {
                    load[plan.Rank] += item.ByteLength;
                    continue;
                }
                // A global entry is one value whatever each rank's bytes are: grouped by key alone.
                var id = item.Kind == WriteItemKind.Object ? (item.Kind, item.Key, TensorBox.Whole(Array.Empty<long>())) : (item.Kind, item.Key, item.Box);
                if (!groups.TryGetValue(id, out var holders)) groups[id] = holders = new List<WriteItem>();
                holders.Add(item);
            }
        }

        var kept = new HashSet<WriteItem>(ReferenceEqualityComparer.Instance);
        foreach (var holders in groups.Values.Where(h => h.Count == 1))
        {
            kept.Add(holders[0]);
            load[holders[0].Rank] += holders[0].ByteLength;
        }
        // Largest replicated items first so the greedy choice balances well (LPT order).
        var replicated = groups.Values.Where(h => h.Count > 1)
            .OrderByDescending(h => h[0].ByteLength)
            .ThenBy(h => h[0].Key, StringComparer.Ordinal)
            .ThenBy(h => string.Join(",", h[0].Box.Offsets), StringComparer.Ordinal);
        foreach (var holders in replicated)
        {
            var chosen = strategy == DedupStrategy.LowestRank || holders[0].Kind == WriteItemKind.Object
                ? holders.MinBy(i => i.Rank)!
                : holders.OrderBy(i => load[i.Rank]).ThenBy(i => i.Rank).First();
            kept.Add(chosen);
            load[chosen.Rank] += chosen.ByteLength;
        }

        return plans.Select(p => p with
        {
            Items = p.Items.Where(i => kept.Contains(i) || (i.Kind == WriteItemKind.Object && i.Scope == ObjectScope.Rank)).ToArray(),
        }).ToArray();
    }
}

namespace ActorCkpt;

/// <summary>
/// Removes replicated items so each chunk and each global entry is written exactly once.
/// Chunks with no elements are dropped (their tensor stays known through the plan's descriptors).
/// </summary>
internal static class SavePlanDeduplicator
{
    /// <summary>
    /// Returns one plan per input plan, keeping for every group of identical chunks (same key and
    /// box) a single holder chosen by <paramref name="strategy"/> among those that staged it (see
    /// <see cref="LocalSavePlan.Unstaged"/>), and for every global entry the lowest rank's value.
    /// Deterministic: the same plans always give the same result. Throws
    /// <see cref="PlanValidationException"/> naming the chunks no holder staged.
    /// </summary>
    public static IReadOnlyList<LocalSavePlan> Dedup(IReadOnlyList<LocalSavePlan> plans, DedupStrategy strategy)
    {
        // At scale most items are unique: a group is its first holder, plus a list only for replicas.
        // Grouped by key, then box: an ordinal string lookup is much cheaper than hashing a tuple
        // holding the string, and a million items go through here at 4,096 ranks.
        var groupOf = new Dictionary<string, Dictionary<TensorBox, int>>(StringComparer.Ordinal);
        var first = new List<Holder>();
        var replicas = new Dictionary<int, List<Holder>>();
        var keep = plans.Select(p => new bool[p.Items.Count]).ToArray();
        var unstaged = plans.Select(p => p.Unstaged.Count == 0 ? null : new HashSet<int>(p.Unstaged)).ToArray();
        var anyUnstaged = unstaged.Any(u => u is not null);
        bool Staged(Holder h) => unstaged[h.Plan]?.Contains(h.Position) != true;
        var problems = new List<string>();
        var load = new Dictionary<int, long>();
        for (var p = 0; p < plans.Count; p++)
        {
            var plan = plans[p];
            load[plan.Rank] = 0;
            for (var i = 0; i < plan.Items.Count; i++)
            {
                var item = plan.Items[i];
                if (item.Kind == WriteItemKind.Tensor && item.Box.Volume == 0) continue;
                if (item.Kind == WriteItemKind.Object && item.Scope == ObjectScope.Rank)
                {
                    keep[p][i] = true;
                    load[plan.Rank] += item.ByteLength;
                    continue;
                }
                // A global entry is one value whatever each rank's bytes are: grouped by key alone.
                // (A key cannot be both a tensor and an entry: validation refuses that.)
                var box = item.Kind == WriteItemKind.Object ? NoBox : item.Box;
                if (!groupOf.TryGetValue(item.Key, out var byBox)) groupOf[item.Key] = byBox = new Dictionary<TensorBox, int>();
                if (!byBox.TryGetValue(box, out var group))
                {
                    byBox[box] = first.Count;
                    first.Add(new Holder(item, p, i));
                    continue;
                }
                if (!replicas.TryGetValue(group, out var holders)) replicas[group] = holders = new List<Holder> { first[group] };
                holders.Add(new Holder(item, p, i));
            }
        }

        void Keep(Holder h)
        {
            keep[h.Plan][h.Position] = true;
            load[h.Item.Rank] += h.Item.ByteLength;
        }
        for (var g = 0; g < first.Count; g++)
        {
            if (replicas.ContainsKey(g)) continue;
            if (Staged(first[g])) Keep(first[g]);
            else problems.Add(Unwritable(new[] { first[g] }));
        }
        // Largest replicated items first so the greedy choice balances well (LPT order).
        var replicated = replicas.Values
            .OrderByDescending(h => h[0].Item.ByteLength)
            .ThenBy(h => h[0].Item.Key, StringComparer.Ordinal)
            .ThenBy(h => string.Join(",", h[0].Item.Box.Offsets), StringComparer.Ordinal);
        foreach (var holders in replicated)
        {
            var staged = anyUnstaged ? holders.Where(Staged).ToList() : holders;
            if (staged.Count == 0)
            {
                problems.Add(Unwritable(holders));
                continue;
            }
            Keep(strategy == DedupStrategy.LowestRank || holders[0].Item.Kind == WriteItemKind.Object
                ? staged.MinBy(h => h.Item.Rank)
                : staged.OrderBy(h => load[h.Item.Rank]).ThenBy(h => h.Item.Rank).First());
        }
        if (problems.Count > 0) throw new PlanValidationException(problems);

        return plans.Select((p, k) => p with { Items = p.Items.Where((_, i) => keep[k][i]).ToArray(), Unstaged = Array.Empty<int>() }).ToArray();
    }

    private static string Unwritable(IReadOnlyList<Holder> holders) =>
        $"'{holders[0].Item.Key}' {holders[0].Item.Box} is held by rank(s) {string.Join(", ", holders.Select(h => h.Item.Rank))} " +
        "but none of them staged it (each skipped it as a replica another rank wrote last time)";

    private static readonly TensorBox NoBox = TensorBox.Whole(Array.Empty<long>());

    /// <summary>An item and where it sits: plan number and position in that plan.</summary>
    private readonly record struct Holder(WriteItem Item, int Plan, int Position);
}

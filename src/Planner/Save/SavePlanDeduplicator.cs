using System.Buffers;

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
    public static IReadOnlyList<LocalSavePlan> Dedup(IReadOnlyList<LocalSavePlan> plans, DedupStrategy strategy) => Dedup(plans, strategy, PlanKeys.Of(plans));

    /// <summary><see cref="Dedup(IReadOnlyList{LocalSavePlan}, DedupStrategy)"/> with the keys of <paramref name="plans"/> already numbered.</summary>
    internal static IReadOnlyList<LocalSavePlan> Dedup(IReadOnlyList<LocalSavePlan> plans, DedupStrategy strategy, PlanKeys keys) =>
        Dedup(plans, strategy, keys, out _);

    /// <summary>
    /// <see cref="Dedup(IReadOnlyList{LocalSavePlan}, DedupStrategy)"/> with the keys of <paramref name="plans"/>
    /// already numbered; <paramref name="sizes"/>[k] gives the bytes and index of each item of result
    /// k, read while the items were at hand, so the writer assignment need not visit them again.
    /// </summary>
    internal static IReadOnlyList<LocalSavePlan> Dedup(IReadOnlyList<LocalSavePlan> plans, DedupStrategy strategy, PlanKeys keys, out ItemSizes[] sizes)
    {
        // At scale most items are unique: a group is its first holder, plus a list only for replicas.
        // Grouped by key (numbered once by PlanKeys: a million items go through here at 4,096
        // ranks), then box. Each holder carries its bytes and its rank's slot, so choosing and
        // counting touch no item again. (No local functions here: a captured local would live on
        // the heap and every access of it in these loops would go through that object.)
        // Plan p's items are items start[p] to start[p + 1] of every per-item array below.
        var start = new int[plans.Count + 1];
        for (var p = 0; p < plans.Count; p++) start[p + 1] = start[p] + plans[p].Items.Count;
        var total = start[^1];
        // Each group's first holder as its place (plan, position), 8 bytes rather than a Holder's 32:
        // at a million items this array is most of the dedup's fresh memory, and fresh memory is
        // paid page by page. Holders are rebuilt from their places where a decision needs them.
        // It and the other per-item scratch (kept or not, bytes, index) come from the pool: a
        // planner makes a plan per save, and memory it had is free to touch again.
        var first = ArrayPool<long>.Shared.Rent(total);
        var keep = ArrayPool<bool>.Shared.Rent(total);
        var bytesOf = ArrayPool<long>.Shared.Rent(total);
        var indexOf = ArrayPool<int>.Shared.Rent(total);
        try
        {
            return Dedup(plans, strategy, keys, start, first, keep, bytesOf, indexOf, out sizes);
        }
        finally
        {
            ArrayPool<long>.Shared.Return(first);
            ArrayPool<bool>.Shared.Return(keep);
            ArrayPool<long>.Shared.Return(bytesOf);
            ArrayPool<int>.Shared.Return(indexOf);
        }
    }

    /// <summary>The dedup in scratch arrays of at least start[^1] items each, as they come from the pool.</summary>
    private static IReadOnlyList<LocalSavePlan> Dedup(IReadOnlyList<LocalSavePlan> plans, DedupStrategy strategy, PlanKeys keys, int[] start,
        long[] first, bool[] keep, long[] bytesOf, int[] indexOf, out ItemSizes[] sizes)
    {
        var groupsOf = new BoxGroups[keys.Count];
        Array.Clear(keep, 0, start[^1]);
        var groupCount = 0;
        var replicas = new Dictionary<int, List<long>>();
        var unstaged = new HashSet<int>?[plans.Count];
        // Plans holding an item of another rank than their own (rare): their holders' slots are looked up.
        var offRank = new bool[plans.Count];
        for (var p = 0; p < plans.Count; p++)
        {
            if (plans[p].Unstaged.Count > 0) unstaged[p] = new HashSet<int>(plans[p].Unstaged);
        }
        var problems = new List<string>();
        // Bytes kept per rank, one slot per distinct rank of the plans; an item is counted on its
        // own rank, which is nearly always its plan's.
        var slotOfRank = new Dictionary<int, int>();
        var planSlot = new int[plans.Count];
        for (var p = 0; p < plans.Count; p++)
        {
            if (!slotOfRank.TryGetValue(plans[p].Rank, out var slot)) slotOfRank.Add(plans[p].Rank, slot = slotOfRank.Count);
            planSlot[p] = slot;
        }
        var load = new long[slotOfRank.Count];
        for (var p = 0; p < plans.Count; p++)
        {
            var plan = plans[p];
            var ids = keys.Ids[p];
            load[planSlot[p]] = 0;
            for (var i = 0; i < ids.Length; i++)
            {
                var item = plan.Items[i];
                // WriteItem.ByteLength, its volume computed once.
                var volume = item.Box.Volume;
                if (item.Kind == WriteItemKind.Tensor && volume == 0) continue;
                var bytes = volume * DTypes.ElementSize(item.DType);
                (bytesOf[start[p] + i], indexOf[start[p] + i]) = (bytes, item.Index);
                if (item.Kind == WriteItemKind.Object && item.Scope == ObjectScope.Rank)
                {
                    keep[start[p] + i] = true;
                    load[planSlot[p]] += bytes;
                    continue;
                }
                // A global entry is one value whatever each rank's bytes are: grouped by key alone.
                // (A key cannot be both a tensor and an entry: validation refuses that.)
                var box = item.Kind == WriteItemKind.Object ? NoBox : item.Box;
                if (item.Rank != plan.Rank) offRank[p] = true;
                var place = Place(p, i);
                var groups = groupsOf[ids[i]] ??= new BoxGroups(plans.Count - p);
                if (groups.TryAdd(box, groupCount, out var group))
                {
                    first[groupCount++] = place;
                    continue;
                }
                if (!replicas.TryGetValue(group, out var places)) replicas[group] = places = new List<long> { first[group] };
                places.Add(place);
            }
        }

        var at = new Holders(plans, start, bytesOf, planSlot, slotOfRank);
        for (var g = 0; g < groupCount; g++)
        {
            if (replicas.Count > 0 && replicas.ContainsKey(g)) continue;
            var (p, i) = Unplace(first[g]);
            if (!Staged(unstaged, p, i)) problems.Add(Unwritable(new[] { at.Of(first[g]) }));
            else if (offRank[p]) Keep(at.Of(first[g]), start, keep, load, slotOfRank);
            else
            {
                // Most groups: one item, of its plan's rank, kept without rebuilding its holder.
                keep[start[p] + i] = true;
                load[planSlot[p]] += bytesOf[start[p] + i];
            }
        }
        // Largest replicated items first so the greedy choice balances well (LPT order). A group's
        // holders are rebuilt one at a time from their places as the choice passes them (at 4,096
        // ranks a replicated key has 4,096: a list of them per group was 16 MB of fresh memory).
        var replicated = replicas.Values
            .OrderByDescending(places => at.Of(places[0]).Item.ByteLength)
            .ThenBy(places => at.Of(places[0]).Item.Key, StringComparer.Ordinal)
            .ThenBy(places => string.Join(",", at.Of(places[0]).Item.Box.Offsets), StringComparer.Ordinal);
        foreach (var places in replicated)
        {
            var lowest = strategy == DedupStrategy.LowestRank || at.Of(places[0]).Item.Kind == WriteItemKind.Object;
            if (Choose(places, at, unstaged, lowest, load, slotOfRank) is { } chosen) Keep(chosen, start, keep, load, slotOfRank);
            else problems.Add(Unwritable(places.Select(at.Of).ToList()));
        }
        if (problems.Count > 0) throw new PlanValidationException(problems);

        var result = new LocalSavePlan[plans.Count];
        sizes = new ItemSizes[plans.Count];
        for (var k = 0; k < plans.Count; k++)
        {
            var kept = keep.AsSpan(start[k], start[k + 1] - start[k]);
            var count = kept.Count(true);
            var items = new WriteItem[count];
            var (bytes, index) = (new long[count], new int[count]);
            var plan = plans[k];
            for (int i = 0, n = 0; i < kept.Length; i++)
                if (kept[i]) (items[n], bytes[n], index[n++]) = (plan.Items[i], bytesOf[start[k] + i], indexOf[start[k] + i]);
            result[k] = plan with { Items = items, Unstaged = Array.Empty<int>() };
            sizes[k] = new ItemSizes(bytes, index);
        }
        return result;
    }

    /// <summary>An item's place, plan and position, in one number.</summary>
    private static long Place(int plan, int position) => ((long)plan << 32) | (uint)position;

    /// <summary>The plan and position of a <see cref="Place"/>.</summary>
    private static (int Plan, int Position) Unplace(long place) => ((int)(place >> 32), (int)place);

    /// <summary>True unless the plan's rank skipped the item at <paramref name="position"/> (<see cref="LocalSavePlan.Unstaged"/>).</summary>
    private static bool Staged(HashSet<int>?[] unstaged, int plan, int position) => unstaged[plan]?.Contains(position) != true;

    /// <summary>Keeps <paramref name="h"/>'s item and counts its bytes on its rank.</summary>
    private static void Keep(Holder h, int[] start, bool[] keep, long[] load, Dictionary<int, int> slotOfRank)
    {
        keep[start[h.Plan] + h.Position] = true;
        load[SlotOf(h, slotOfRank)] += h.Bytes;
    }

    /// <summary>The load slot of <paramref name="h"/>'s rank; throws <see cref="KeyNotFoundException"/> when no plan is of that rank.</summary>
    private static int SlotOf(Holder h, Dictionary<int, int> slotOfRank) => h.Slot >= 0 ? h.Slot : slotOfRank[h.Item.Rank];

    /// <summary>
    /// Among the holders at <paramref name="places"/> that staged their item: the first of the
    /// lowest rank (<paramref name="lowestRank"/>), or the first of the rank with the fewest bytes
    /// kept so far, the lowest such rank on a tie. Null when none staged it.
    /// </summary>
    private static Holder? Choose(List<long> places, Holders at, HashSet<int>?[] unstaged, bool lowestRank, long[] load, Dictionary<int, int> slotOfRank)
    {
        Holder? best = null;
        var bestLoad = 0L;
        foreach (var place in places)
        {
            var (p, i) = Unplace(place);
            if (!Staged(unstaged, p, i)) continue;
            var h = at.Of(place);
            if (best is not { } b)
            {
                (best, bestLoad) = (h, lowestRank ? 0 : load[SlotOf(h, slotOfRank)]);
                continue;
            }
            if (lowestRank)
            {
                if (h.Item.Rank < b.Item.Rank) best = h;
                continue;
            }
            var l = load[SlotOf(h, slotOfRank)];
            if (l < bestLoad || (l == bestLoad && h.Item.Rank < b.Item.Rank)) (best, bestLoad) = (h, l);
        }
        return best;
    }

    private static string Unwritable(IReadOnlyList<Holder> holders) =>
        $"'{holders[0].Item.Key}' {holders[0].Item.Box} is held by rank(s) {string.Join(", ", holders.Select(h => h.Item.Rank))} " +
        "but none of them staged it (each skipped it as a replica another rank wrote last time, before another rank's plan changed): " +
        "saving again stages every replica (actorckpt.staging.skip-replicas-written-elsewhere = off stops the skipping)";

    private static readonly TensorBox NoBox = TensorBox.Whole(Array.Empty<long>());

    /// <summary>The groups of one key, by box: each distinct box (numbered by <see cref="BoxIndex"/>) is one group.</summary>
    /// <param name="expected">How many boxes the key may have.</param>
    private sealed class BoxGroups(int expected)
    {
        private readonly BoxIndex _boxes = new(expected);
        private readonly List<int> _groups = new();

        /// <summary>True when <paramref name="box"/> is new (it becomes group <paramref name="group"/>); false with the group it belongs to otherwise.</summary>
        public bool TryAdd(TensorBox box, int group, out int existing)
        {
            var n = _boxes.Add(box, out var added);
            if (added) _groups.Add(existing = group);
            else existing = _groups[n];
            return added;
        }
    }

    /// <summary>Rebuilds holders from their places.</summary>
    private sealed class Holders(IReadOnlyList<LocalSavePlan> plans, int[] start, long[] bytesOf, int[] planSlot, Dictionary<int, int> slotOfRank)
    {
        /// <summary>
        /// The holder at <paramref name="place"/>. An item of a rank with no plan has no slot (-1):
        /// counting it throws, as it did when the counts were kept by rank in a dictionary.
        /// </summary>
        public Holder Of(long place)
        {
            var (p, i) = Unplace(place);
            var item = plans[p].Items[i];
            return new Holder(item, p, i, bytesOf[start[p] + i], item.Rank == plans[p].Rank ? planSlot[p] : slotOfRank.GetValueOrDefault(item.Rank, -1));
        }
    }

    /// <summary>An item and where it sits: plan number and position in that plan; its bytes, and the load slot of its rank (-1: no plan of that rank).</summary>
    private readonly record struct Holder(WriteItem Item, int Plan, int Position, long Bytes, int Slot);

    /// <summary>Per item of a plan: its <see cref="WriteItem.ByteLength"/> and its <see cref="WriteItem.Index"/>.</summary>
    internal readonly record struct ItemSizes(long[] Bytes, int[] Index);
}

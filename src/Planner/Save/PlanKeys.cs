namespace ActorCkpt;

/// <summary>
/// Every distinct key of a save's local plans numbered 0, 1, … in the order it first appears,
/// and each item's number: the planners then keep what they know per key in arrays instead of
/// hashing the key's string again at every step (a million items at 4,096 ranks × 256 items).
/// </summary>
internal sealed class PlanKeys
{
    private readonly Dictionary<string, int> _ids;

    private PlanKeys(Dictionary<string, int> ids, int[][] itemIds)
    {
        _ids = ids;
        Ids = itemIds;
    }

    /// <summary>Ids[p][i]: the number of the key of item i of plan p.</summary>
    public int[][] Ids { get; }

    /// <summary>Number of distinct keys.</summary>
    public int Count => _ids.Count;

    /// <summary>The number of <paramref name="key"/>, if any item has it.</summary>
    public bool TryGetId(string key, out int id) => _ids.TryGetValue(key, out id);

    /// <summary>Numbers the keys of <paramref name="plans"/> (keys compared ordinally).</summary>
    public static PlanKeys Of(IReadOnlyList<LocalSavePlan> plans)
    {
        var itemIds = new int[plans.Count][];
        // Two halves numbered side by side, each in its own dictionary; the second half's numbers
        // then become the ones a single pass would have given: its keys the first half already
        // had take their numbers there, and its new keys follow in the order they first came.
        var half = plans.Count >= 64 && Environment.ProcessorCount > 1 ? plans.Count / 2 : plans.Count;
        Dictionary<string, int> ids = null!, second = null!;
        Parallel.Invoke(
            () => ids = Number(plans, 0, half, itemIds),
            () => second = Number(plans, half, plans.Count, itemIds));
        if (second.Count > 0)
        {
            var global = new int[second.Count];
            foreach (var (key, local) in second)
                if (!ids.TryGetValue(key, out global[local])) ids.Add(key, global[local] = ids.Count);
            for (var p = half; p < plans.Count; p++)
            {
                var mine = itemIds[p];
                for (var i = 0; i < mine.Length; i++) mine[i] = global[mine[i]];
            }
        }
        return new PlanKeys(ids, itemIds);
    }

    /// <summary>Numbers the keys of plans <paramref name="from"/> to <paramref name="to"/> (excluded) from 0 in the order they first come there.</summary>
    private static Dictionary<string, int> Number(IReadOnlyList<LocalSavePlan> plans, int from, int to, int[][] itemIds)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        IReadOnlyList<WriteItem>? previous = null;
        for (var p = from; p < to; p++)
        {
            var items = plans[p].Items;
            var mine = itemIds[p] = new int[items.Count];
            for (var i = 0; i < mine.Length; i++)
            {
                var key = items[i].Key;
                // Ranks mostly hold the same keys in the same order: the item at the same place in
                // the previous plan usually has this key, and comparing two strings is cheaper
                // than hashing one.
                if (previous is not null && i < previous.Count && string.Equals(previous[i].Key, key))
                {
                    mine[i] = itemIds[p - 1][i];
                    continue;
                }
                if (!ids.TryGetValue(key, out var id)) ids.Add(key, id = ids.Count);
                mine[i] = id;
            }
            previous = items;
        }
        return ids;
    }
}

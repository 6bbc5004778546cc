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
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var itemIds = new int[plans.Count][];
        IReadOnlyList<WriteItem>? previous = null;
        for (var p = 0; p < plans.Count; p++)
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
        return new PlanKeys(ids, itemIds);
    }
}

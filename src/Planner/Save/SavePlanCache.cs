using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace ActorCkpt;

/// <summary>
/// Serves a save's global plan again when nothing that decides it has changed, as DCP's plan
/// caching does: each rank fingerprints its own local plan (keys, kinds, dtypes, shapes, boxes,
/// scopes, order, and which items it left unstaged), so the planner compares one number per rank
/// instead of re-planning every item. Any change of a fingerprint, the writers, the ranks' nodes or
/// the settings plans afresh. A plan served from the cache differs from the one it was made for
/// only in the tag of its file names.
/// </summary>
internal sealed class SavePlanCache
{
    private Entry? _last;

    /// <summary>Plans served from the cache.</summary>
    public int Hits { get; private set; }

    /// <summary>Plans made afresh.</summary>
    public int Misses { get; private set; }

    /// <summary>The fingerprint of <paramref name="plan"/>: xxHash3 of everything the global plan depends on.</summary>
    public static ulong Fingerprint(LocalSavePlan plan)
    {
        var hash = new XxHash3();
        void Add(long value) => AppendNumber(hash, value);
        Add(plan.Rank);
        Add(plan.WorldSize);
        Add(plan.Items.Count);
        foreach (var item in plan.Items)
        {
            Add((long)item.Kind);
            Add(Encoding.UTF8.GetByteCount(item.Key));
            hash.Append(Encoding.UTF8.GetBytes(item.Key));
            Add(item.Rank);
            Add(item.Index);
            Add((long)item.DType);
            Add((long)item.Scope);
            Add(item.GlobalShape.Count);
            foreach (var d in item.GlobalShape) Add(d);
            Add(item.Box.Rank);
            for (var d = 0; d < item.Box.Rank; d++)
            {
                Add(item.Box.Offsets[d]);
                Add(item.Box.Lengths[d]);
            }
        }
        Add(plan.Unstaged.Count);
        foreach (var i in plan.Unstaged) Add(i);
        return hash.GetCurrentHashAsUInt64();
    }

    private static void AppendNumber(XxHash3 hash, long value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
        hash.Append(bytes);
    }

    /// <summary>
    /// The global plan of <paramref name="plans"/> (ordered by rank) with file names tagged
    /// <paramref name="tag"/>: the last plan re-tagged when <paramref name="fingerprints"/> (one per
    /// plan, from <see cref="Fingerprint"/>) and every other input are unchanged, otherwise
    /// <see cref="GlobalSavePlanner.Create"/>'s.
    /// </summary>
    public GlobalSavePlan GetOrCreate(
        IReadOnlyList<LocalSavePlan> plans, IReadOnlyList<ulong> fingerprints, IReadOnlyList<string> writerNodes,
        IReadOnlyDictionary<int, string> rankNodes, SavePlanSettings settings, string tag)
    {
        if (fingerprints.Count != plans.Count)
            throw new ArgumentException($"{fingerprints.Count} fingerprints for {plans.Count} plans", nameof(fingerprints));
        // A hit compares one number per rank and each rank's node, and touches no item: at 4,096
        // ranks it must cost well under a millisecond (bench-plan's cached_plan_ms).
        if (_last is { } last && last.Settings == settings && SameFingerprints(last.Fingerprints, fingerprints)
            && last.WriterNodes.SequenceEqual(writerNodes, StringComparer.Ordinal) && SameNodes(last.RankNodes, rankNodes))
        {
            Hits++;
            return last.Plan.Retagged(last.Tag, tag);
        }
        Misses++;
        var plan = GlobalSavePlanner.Create(plans, writerNodes, rankNodes, settings, tag);
        _last = new Entry(fingerprints.ToArray(), writerNodes.ToArray(), rankNodes.OrderBy(p => p.Key).ToArray(), settings, plan, tag);
        return plan;
    }

    private static bool SameFingerprints(ulong[] last, IReadOnlyList<ulong> now)
    {
        if (now is ulong[] array) return last.AsSpan().SequenceEqual(array);
        if (last.Length != now.Count) return false;
        for (var i = 0; i < last.Length; i++) if (last[i] != now[i]) return false;
        return true;
    }

    /// <summary>True when <paramref name="now"/> maps exactly the ranks of <paramref name="last"/> to the same nodes (compared ordinally).</summary>
    private static bool SameNodes(KeyValuePair<int, string>[] last, IReadOnlyDictionary<int, string> now)
    {
        if (last.Length != now.Count) return false;
        foreach (var (rank, node) in last)
            if (!now.TryGetValue(rank, out var other) || !string.Equals(node, other, StringComparison.Ordinal)) return false;
        return true;
    }

    private sealed record Entry(ulong[] Fingerprints, string[] WriterNodes, KeyValuePair<int, string>[] RankNodes, SavePlanSettings Settings, GlobalSavePlan Plan, string Tag);
}

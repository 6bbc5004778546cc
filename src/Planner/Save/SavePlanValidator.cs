using System.Buffers;
using System.Runtime.ExceptionServices;

namespace ActorCkpt;

/// <summary>
/// Checks that the local plans of one save describe one consistent job before anything is
/// written: every rank present once, one dtype and shape per key, chunks inside their tensor,
/// chunks of a key either identical (replicas) or disjoint, and every tensor fully covered.
/// </summary>
internal static class SavePlanValidator
{
    /// <summary>
    /// Validates <paramref name="plans"/> and returns every tensor of the job (in the order each key
    /// first appears, plan by plan). Throws <see cref="PlanValidationException"/> listing every
    /// problem found, in the order of the plans and their items, then of the keys.
    /// </summary>
    public static IReadOnlyDictionary<string, TensorDescriptor> Validate(IReadOnlyList<LocalSavePlan> plans) => Validate(plans, PlanKeys.Of(plans));

    /// <summary><see cref="Validate(IReadOnlyList{LocalSavePlan})"/> with the keys of <paramref name="plans"/> already numbered.</summary>
    internal static IReadOnlyDictionary<string, TensorDescriptor> Validate(IReadOnlyList<LocalSavePlan> plans, PlanKeys keys)
    {
        // At 4,096 ranks × 256 items a million items pass through here: each key is looked up once
        // (PlanKeys), and everything per key lives in arrays indexed by that number rather than in
        // dictionaries keyed by the string.
        var problems = new List<string>();
        CheckRanks(plans, problems);

        var tensorOf = new TensorState?[keys.Count];
        var tensorOrder = new List<int>();
        var objectScopes = new Dictionary<string, (ObjectScope Scope, int Rank)>(StringComparer.Ordinal);
        // Entry names are unique in a save: a global "rank0/x" and rank 0's "x" would both be "__object__/rank0/x".
        var entryNames = new Dictionary<string, (string Key, ObjectScope Scope)>(StringComparer.Ordinal);
        var lastPlanOf = new int[keys.Count];
        Array.Fill(lastPlanOf, -1);
        for (var p = 0; p < plans.Count; p++)
        {
            var plan = plans[p];
            var ids = keys.Ids[p];
            CheckUnstaged(plan, problems);
            // Only a plan that names one key twice can hold one (kind, key, box) twice: the exact
            // check's set is built for such plans alone.
            HashSet<(WriteItemKind, string, TensorBox)>? seen = null;
            for (var i = 0; i < ids.Length; i++)
            {
                if (lastPlanOf[ids[i]] == p)
                {
                    seen = new HashSet<(WriteItemKind, string, TensorBox)>();
                    break;
                }
                lastPlanOf[ids[i]] = p;
            }
            for (var i = 0; i < ids.Length; i++)
            {
                var item = plan.Items[i];
                if (seen is not null && !seen.Add((item.Kind, item.Key, item.Box)))
                    problems.Add($"rank {plan.Rank} holds '{item.Key}' {item.Box} twice");
                if (item.Kind == WriteItemKind.Object)
                {
                    if (!objectScopes.TryGetValue(item.Key, out var first))
                        objectScopes[item.Key] = (item.Scope, item.Rank);
                    else if (first.Scope != item.Scope)
                        problems.Add($"entry '{item.Key}' is {Describe(first.Scope)} on rank {first.Rank} but {Describe(item.Scope)} on rank {item.Rank}");
                    var name = item.StorageName;
                    if (!entryNames.TryGetValue(name, out var named)) entryNames[name] = (item.Key, item.Scope);
                    else if (named.Key != item.Key)
                        problems.Add($"entries '{named.Key}' ({Describe(named.Scope)}) and '{item.Key}' ({Describe(item.Scope)}) would both be stored as '{name}'; rename one");
                    continue;
                }
                var id = ids[i];
                if (tensorOf[id] is { } known)
                {
                    var d = known.Descriptor;
                    if (d.DType != item.DType || !SameShape(d.Shape, item.GlobalShape))
                    {
                        if (!known.Conflicting)
                        {
                            known.Conflicting = true;
                            problems.Add($"'{item.Key}' is {DTypes.ToSafetensors(d.DType)} {Shapes.Format(d.Shape)} on rank {known.Rank} " +
                                         $"but {DTypes.ToSafetensors(item.DType)} {Shapes.Format(item.GlobalShape)} on rank {item.Rank}");
                        }
                        continue;
                    }
                    if (known.Unstorable) continue;
                }
                else
                {
                    tensorOf[id] = known = new TensorState(new TensorDescriptor(item.Key, item.DType, item.GlobalShape), item.Rank, plans.Count - p);
                    tensorOrder.Add(id);
                    // Its chunks are not checked further when its shape cannot be stored or counted.
                    if (item.GlobalShape.Count > Shapes.MaxDimensions)
                    {
                        known.Conflicting = known.Unstorable = true;
                        problems.Add($"'{item.Key}' has {item.GlobalShape.Count} dimensions: at most {Shapes.MaxDimensions} are supported");
                        continue;
                    }
                    if (!Shapes.TryVolume(item.GlobalShape, DTypes.ElementSize(item.DType), out _, out _))
                    {
                        known.Conflicting = known.Unstorable = true;
                        problems.Add($"'{item.Key}': shape {Shapes.Uncountable(item.GlobalShape)}");
                        continue;
                    }
                }
                if (!item.Box.FitsIn(item.GlobalShape))
                    problems.Add($"'{item.Key}' on rank {item.Rank}: chunk {item.Box} lies outside shape {Shapes.Format(item.GlobalShape)}");
                else if (item.Box.Volume > 0)
                    known.Add(item.Box);
            }
        }

        foreach (var key in objectScopes.Keys)
            if (keys.TryGetId(key, out var id) && tensorOf[id] is not null)
                problems.Add($"'{key}' is both a tensor and a non-tensor entry");

        foreach (var id in tensorOrder)
            if (StorageNames.Clash(tensorOf[id]!.Descriptor.Key, k => keys.TryGetId(k, out var other) && tensorOf[other] is not null) is { } clash)
                problems.Add(clash);
        CheckTensors(tensorOf, tensorOrder, problems);
        if (problems.Count > 0) throw new PlanValidationException(problems);
        var tensors = new Dictionary<string, TensorDescriptor>(tensorOrder.Count, StringComparer.Ordinal);
        foreach (var id in tensorOrder) tensors.Add(tensorOf[id]!.Descriptor.Key, tensorOf[id]!.Descriptor);
        return tensors;
    }

    /// <summary>
    /// The overlap and coverage checks of every tensor (sort and sweep of its chunks), independent
    /// of each other: on a machine with cores to spare they run side by side, each writing its own
    /// slot; problems are then listed in key order whatever order they were found in.
    /// </summary>
    private static void CheckTensors(TensorState?[] tensorOf, List<int> tensorOrder, List<string> problems)
    {
        var checkedKeys = tensorOrder.Select(id => tensorOf[id]!).Where(t => !t.Conflicting).ToArray();
        var found = new (string? Overlap, string? Coverage, ExceptionDispatchInfo? Failure)[checkedKeys.Length];
        Parallel.For(0, checkedKeys.Length, k => found[k] = Check(checkedKeys[k]));
        var byKey = Enumerable.Range(0, checkedKeys.Length).ToArray();
        Array.Sort(byKey, (a, b) => string.CompareOrdinal(checkedKeys[a].Descriptor.Key, checkedKeys[b].Descriptor.Key));
        foreach (var k in byKey)
        {
            // A sum that overflows throws from the first such tensor in key order, as a sequential check would.
            found[k].Failure?.Throw();
            if (found[k].Overlap is { } overlap) problems.Add(overlap);
            if (found[k].Coverage is { } coverage) problems.Add(coverage);
        }
    }

    /// <summary>The overlap and coverage problems of one tensor's distinct chunks (null for none), or what the check threw.</summary>
    private static (string? Overlap, string? Coverage, ExceptionDispatchInfo? Failure) Check(TensorState tensor)
    {
        var key = tensor.Descriptor.Key;
        string? overlapProblem = null;
        try
        {
            var unique = tensor.Boxes();
            var overlap = FindOverlap(unique);
            if (overlap is { } pair)
                overlapProblem = $"'{key}': chunks {pair.A} and {pair.B} overlap without being equal";
            long covered = 0;
            foreach (var b in unique) covered = checked(covered + b.Volume);
            var volume = Shapes.Volume(tensor.Descriptor.Shape);
            return (overlapProblem, overlap is null && covered != volume ? $"'{key}': the ranks' chunks cover {covered} of its {volume} elements" : null, null);
        }
        catch (Exception e)
        {
            return (overlapProblem, null, ExceptionDispatchInfo.Capture(e));
        }
    }

    private static bool SameShape(IReadOnlyList<long> a, IReadOnlyList<long> b) =>
        ReferenceEquals(a, b) || (a is long[] x && b is long[] y ? x.AsSpan().SequenceEqual(y) : Shapes.Equal(a, b));

    /// <summary>Unstaged positions must name tensor items of the plan, ascending, once each.</summary>
    private static void CheckUnstaged(LocalSavePlan plan, List<string> problems)
    {
        var previous = -1;
        foreach (var i in plan.Unstaged)
        {
            if (i <= previous)
                problems.Add($"rank {plan.Rank}: unstaged item positions must ascend, but {i} follows {previous}");
            else if (i >= plan.Items.Count)
                problems.Add($"rank {plan.Rank}: unstaged item position {i} is past its {plan.Items.Count} items");
            else if (plan.Items[i].Kind != WriteItemKind.Tensor)
                problems.Add($"rank {plan.Rank}: entry '{plan.Items[i].Key}' is marked unstaged, but only tensor chunks can be");
            previous = Math.Max(previous, i);
        }
    }

    private static void CheckRanks(IReadOnlyList<LocalSavePlan> plans, List<string> problems)
    {
        if (plans.Count == 0)
        {
            problems.Add("no local plans");
            return;
        }
        var world = plans[0].WorldSize;
        if (plans.Any(p => p.WorldSize != world))
            problems.Add("ranks disagree on the world size: " + string.Join(", ", plans.Select(p => $"rank {p.Rank} says {p.WorldSize}")));
        var ranks = plans.Select(p => p.Rank).ToList();
        var missing = Enumerable.Range(0, world).Except(ranks).ToList();
        if (missing.Count > 0) problems.Add("missing plans of ranks " + string.Join(", ", missing));
        var duplicated = ranks.GroupBy(r => r).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (duplicated.Count > 0) problems.Add("more than one plan from ranks " + string.Join(", ", duplicated));
        var outside = ranks.Where(r => Ranks.Problem(r, world) is not null).ToList();
        if (outside.Count > 0) problems.Add($"ranks {string.Join(", ", outside)} are outside world size {world}");
    }

    private static string Describe(ObjectScope scope) => scope == ObjectScope.Rank ? "per-rank" : "global";

    /// <summary>
    /// Finds two distinct boxes that share elements. Sweeps along the dimension where the boxes'
    /// offsets differ most, so row- or column-sharded tensors are checked in O(n log n).
    /// Sorts <paramref name="boxes"/> in place.
    /// </summary>
    internal static (TensorBox A, TensorBox B)? FindOverlap(List<TensorBox> boxes)
    {
        if (boxes.Count < 2) return null;
        var rank = boxes[0].Rank;
        if (rank == 0) return (boxes[0], boxes[1]);
        var dim = 0;
        if (rank > 1)
        {
            // The first dimension with the most distinct offsets (counted in pooled scratch: a
            // million chunks at 4,096 ranks, and fresh memory is paid page by page).
            var pooled = ArrayPool<long>.Shared.Rent(boxes.Count);
            var offsets = pooled.AsSpan(0, boxes.Count);
            var most = -1;
            for (var d = 0; d < rank; d++)
            {
                for (var i = 0; i < boxes.Count; i++) offsets[i] = boxes[i].OffsetSpan[d];
                var distinct = Distinct(offsets);
                if (distinct > most) (most, dim) = (distinct, d);
            }
            ArrayPool<long>.Shared.Return(pooled);
        }
        // Chunks mostly come in rank order, already sorted along the dimension they are split on:
        // with every offset distinct and ascending, every sort gives this order, so none is run
        // (with ties the sort runs, whose order among equal offsets the pair named depends on).
        if (!StrictlyAscending(boxes, dim)) boxes.Sort((a, b) => a.OffsetSpan[dim].CompareTo(b.OffsetSpan[dim]));
        for (var i = 0; i < boxes.Count; i++)
        {
            var end = boxes[i].OffsetSpan[dim] + boxes[i].LengthSpan[dim];
            for (var j = i + 1; j < boxes.Count && boxes[j].OffsetSpan[dim] < end; j++)
                if (Overlap(boxes[i], boxes[j])) return (boxes[i], boxes[j]);
        }
        return null;
    }

    private static bool StrictlyAscending(List<TensorBox> boxes, int dim)
    {
        for (var i = 1; i < boxes.Count; i++)
            if (boxes[i].OffsetSpan[dim] <= boxes[i - 1].OffsetSpan[dim]) return false;
        return true;
    }

    /// <summary>Number of distinct values of <paramref name="values"/>, which it may sort.</summary>
    private static int Distinct(Span<long> values)
    {
        // The common cases without a sort: offsets all distinct and ascending (the dimension a
        // tensor is split on) or all equal (the others).
        bool ascending = true, equal = true;
        for (var i = 1; i < values.Length && (ascending || equal); i++)
        {
            ascending &= values[i] > values[i - 1];
            equal &= values[i] == values[i - 1];
        }
        if (ascending) return values.Length;
        if (equal) return 1;
        values.Sort();
        var n = values.Length == 0 ? 0 : 1;
        for (var i = 1; i < values.Length; i++) if (values[i] != values[i - 1]) n++;
        return n;
    }

    /// <summary>True when two boxes of one rank share an element: what <see cref="TensorBox.Intersect"/> tells, without building the intersection.</summary>
    private static bool Overlap(TensorBox a, TensorBox b)
    {
        if (a.Rank != b.Rank) throw new ArgumentException($"boxes of rank {a.Rank} and {b.Rank} cannot intersect");
        var ao = a.OffsetSpan;
        var al = a.LengthSpan;
        var bo = b.OffsetSpan;
        var bl = b.LengthSpan;
        for (var i = 0; i < ao.Length; i++)
            if (Math.Min(ao[i] + al[i], bo[i] + bl[i]) <= Math.Max(ao[i], bo[i])) return false;
        return true;
    }

    /// <summary>What validation knows of one tensor key: its first descriptor and rank, whether a later rank contradicted it, and its distinct non-empty chunks.</summary>
    /// <param name="descriptor">The key's descriptor as its first rank gave it.</param>
    /// <param name="rank">That rank.</param>
    /// <param name="expected">How many chunks the key may have.</param>
    private sealed class TensorState(TensorDescriptor descriptor, int rank, int expected)
    {
        private readonly BoxIndex _boxes = new(expected);

        public TensorDescriptor Descriptor { get; } = descriptor;
        public int Rank { get; } = rank;
        public bool Conflicting { get; set; }

        /// <summary>Its shape has more dimensions than metadata holds, or more bytes than 64 bits count: its chunks are not looked at.</summary>
        public bool Unstorable { get; set; }

        public void Add(TensorBox box) => _boxes.Add(box, out _);

        /// <summary>The distinct chunks, in the order each first came; the overlap check, their last user, sorts them.</summary>
        public List<TensorBox> Boxes() => _boxes.Boxes;
    }
}

namespace ActorCkpt;

/// <summary>
/// Checks that the local plans of one save describe one consistent job before anything is
/// written: every rank present once, one dtype and shape per key, chunks inside their tensor,
/// chunks of a key either identical (replicas) or disjoint, and every tensor fully covered.
/// </summary>
internal static class SavePlanValidator
{
    /// <summary>
    /// Validates <paramref name="plans"/> and returns every tensor of the job.
    /// Throws <see cref="PlanValidationException"/> listing every problem found.
    /// </summary>
    public static IReadOnlyDictionary<string, TensorDescriptor> Validate(IReadOnlyList<LocalSavePlan> plans)
    {
        var problems = new List<string>();
        CheckRanks(plans, problems);

        var tensors = new Dictionary<string, (TensorDescriptor Descriptor, int Rank)>(StringComparer.Ordinal);
        var boxes = new Dictionary<string, HashSet<TensorBox>>(StringComparer.Ordinal);
        var conflicting = new HashSet<string>(StringComparer.Ordinal);
        var objectScopes = new Dictionary<string, (ObjectScope Scope, int Rank)>(StringComparer.Ordinal);
        foreach (var plan in plans)
        {
            CheckUnstaged(plan, problems);
            var seen = new HashSet<(WriteItemKind, string, TensorBox)>();
            foreach (var item in plan.Items)
            {
                if (!seen.Add((item.Kind, item.Key, item.Box)))
                    problems.Add($"rank {plan.Rank} holds '{item.Key}' {item.Box} twice");
                if (item.Kind == WriteItemKind.Object)
                {
                    if (!objectScopes.TryGetValue(item.Key, out var first))
                        objectScopes[item.Key] = (item.Scope, item.Rank);
                    else if (first.Scope != item.Scope)
                        problems.Add($"entry '{item.Key}' is {Describe(first.Scope)} on rank {first.Rank} but {Describe(item.Scope)} on rank {item.Rank}");
                    continue;
                }
                if (tensors.TryGetValue(item.Key, out var known))
                {
                    var d = known.Descriptor;
                    if (d.DType != item.DType || !Shapes.Equal(d.Shape, item.GlobalShape))
                    {
                        if (conflicting.Add(item.Key))
                            problems.Add($"'{item.Key}' is {DTypes.ToSafetensors(d.DType)} {Shapes.Format(d.Shape)} on rank {known.Rank} " +
                                         $"but {DTypes.ToSafetensors(item.DType)} {Shapes.Format(item.GlobalShape)} on rank {item.Rank}");
                        continue;
                    }
                }
                else
                {
                    tensors[item.Key] = (new TensorDescriptor(item.Key, item.DType, item.GlobalShape), item.Rank);
                }
                if (!item.Box.FitsIn(item.GlobalShape))
                    problems.Add($"'{item.Key}' on rank {item.Rank}: chunk {item.Box} lies outside shape {Shapes.Format(item.GlobalShape)}");
                else if (item.Box.Volume > 0)
                    (boxes.TryGetValue(item.Key, out var set) ? set : boxes[item.Key] = new HashSet<TensorBox>()).Add(item.Box);
            }
        }

        foreach (var key in objectScopes.Keys.Where(tensors.ContainsKey))
            problems.Add($"'{key}' is both a tensor and a non-tensor entry");

        foreach (var (key, (descriptor, _)) in tensors.Where(t => !conflicting.Contains(t.Key)).OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            var unique = boxes.TryGetValue(key, out var set) ? set.ToList() : new List<TensorBox>();
            var overlap = FindOverlap(unique);
            if (overlap is { } pair)
                problems.Add($"'{key}': chunks {pair.A} and {pair.B} overlap without being equal");
            var covered = unique.Sum(b => b.Volume);
            var volume = Shapes.Volume(descriptor.Shape);
            if (overlap is null && covered != volume)
                problems.Add($"'{key}': the ranks' chunks cover {covered} of its {volume} elements");
        }

        if (problems.Count > 0) throw new PlanValidationException(problems);
        return tensors.ToDictionary(kv => kv.Key, kv => kv.Value.Descriptor, StringComparer.Ordinal);
    }

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
    /// </summary>
    internal static (TensorBox A, TensorBox B)? FindOverlap(List<TensorBox> boxes)
    {
        if (boxes.Count < 2) return null;
        var rank = boxes[0].Rank;
        if (rank == 0) return (boxes[0], boxes[1]);
        var dim = Enumerable.Range(0, rank).MaxBy(d => boxes.Select(b => b.Offsets[d]).Distinct().Count());
        boxes.Sort((a, b) => a.Offsets[dim].CompareTo(b.Offsets[dim]));
        for (var i = 0; i < boxes.Count; i++)
        {
            var end = boxes[i].Offsets[dim] + boxes[i].Lengths[dim];
            for (var j = i + 1; j < boxes.Count && boxes[j].Offsets[dim] < end; j++)
                if (boxes[i].Intersect(boxes[j]) is not null) return (boxes[i], boxes[j]);
        }
        return null;
    }
}

// The global save planner as it was at 8c9f4d7, before it was made fast (issue 21), kept verbatim
// but for the class names as the oracle of SavePlannerEquivalenceSpec: the fast planner must make
// every decision this one makes (files, writers, item order, dedup winners, error text).
// Do not "fix" or speed up this file: its whole value is that it does not change.
namespace ActorCkpt.Planner.Tests.Reference;


/// <summary>
/// Turns the local plans of every rank into the global plan of a save: validate, dedup
/// replicated items, then assign items to files and writers. Pure and deterministic.
/// </summary>
internal static class OriginalGlobalSavePlanner
{
    /// <summary>
    /// Creates the global plan for writers on <paramref name="writerNodes"/> (one entry per writer:
    /// its node) and ranks on <paramref name="rankNodes"/>; <paramref name="tag"/> names this save
    /// attempt in its file names. Throws <see cref="PlanValidationException"/> when the local plans
    /// are inconsistent; nothing has been written at that point.
    /// </summary>
    public static GlobalSavePlan Create(
        IReadOnlyList<LocalSavePlan> plans, IReadOnlyList<string> writerNodes, IReadOnlyDictionary<int, string> rankNodes,
        SavePlanSettings settings, string tag)
    {
        // Validation and dedup only read the plans: on a machine with cores to spare they run side
        // by side (at 4,096 ranks × 256 items each takes about half a second). Invalid plans throw
        // from validation; the dedup of such plans is discarded.
        var dedup = Task.Run(() => OriginalSavePlanDeduplicator.Dedup(plans, settings.Dedup));
        var tensors = OriginalSavePlanValidator.Validate(plans);
        var deduped = dedup.GetAwaiter().GetResult();
        var files = OriginalWriteAssigner.Assign(deduped, writerNodes, rankNodes, settings.Placement, settings.FilesPerRank, tag);
        return new GlobalSavePlan(plans[0].WorldSize, files, tensors);
    }
}

/// <summary>
/// Checks that the local plans of one save describe one consistent job before anything is
/// written: every rank present once, one dtype and shape per key, chunks inside their tensor,
/// chunks of a key either identical (replicas) or disjoint, and every tensor fully covered.
/// </summary>
internal static class OriginalSavePlanValidator
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

/// <summary>
/// Removes replicated items so each chunk and each global entry is written exactly once.
/// Chunks with no elements are dropped (their tensor stays known through the plan's descriptors).
/// </summary>
internal static class OriginalSavePlanDeduplicator
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
        "but none of them staged it (each skipped it as a replica another rank wrote last time, before another rank's plan changed): " +
        "saving again stages every replica (actorckpt.staging.skip-replicas-written-elsewhere = off stops the skipping)";

    private static readonly TensorBox NoBox = TensorBox.Whole(Array.Empty<long>());

    /// <summary>An item and where it sits: plan number and position in that plan.</summary>
    private readonly record struct Holder(WriteItem Item, int Plan, int Position);
}

/// <summary>
/// Splits each rank's items into data files and gives each file to a writer, balancing bytes
/// both ways (largest first onto the least loaded: the LPT rule). A file holds one rank's items
/// only. Placement decides which writers may take a rank's files: those on its own node
/// (<see cref="Placement.Local"/>) or all of them (<see cref="Placement.Spread"/>).
/// </summary>
internal static class OriginalWriteAssigner
{
    /// <summary>
    /// Data file name of rank <paramref name="rank"/>'s file number <paramref name="file"/> in the save
    /// attempt tagged <paramref name="tag"/>. The tag keeps two attempts at one step from ever
    /// writing the same path, so a stale writer cannot touch a newer attempt's files.
    /// </summary>
    public static string FileName(int rank, int file, string tag) => $"r{rank:D5}-{file:D3}-{tag}.safetensors";

    /// <summary>The name <paramref name="name"/> (from <see cref="FileName"/> with <paramref name="oldTag"/>) takes with <paramref name="newTag"/>.</summary>
    public static string Retag(string name, string oldTag, string newTag)
    {
        var suffix = $"-{oldTag}.safetensors";
        return name.EndsWith(suffix, StringComparison.Ordinal)
            ? string.Concat(name.AsSpan(0, name.Length - suffix.Length), $"-{newTag}.safetensors")
            : throw new ArgumentException($"'{name}' is not a data file name tagged '{oldTag}'", nameof(name));
    }

    /// <summary>
    /// Assigns the items of <paramref name="plans"/> (already deduplicated) to files and writers.
    /// <paramref name="writerNodes"/>[w] is the node of writer w; <paramref name="rankNodes"/> maps
    /// each rank to its node. <paramref name="filesPerRank"/> 0 means ceil(eligible writers / ranks
    /// sharing them), at least 1; <paramref name="tag"/> goes into every file name.
    /// </summary>
    public static IReadOnlyList<FileWritePlan> Assign(
        IReadOnlyList<LocalSavePlan> plans, IReadOnlyList<string> writerNodes, IReadOnlyDictionary<int, string> rankNodes,
        Placement placement, int filesPerRank, string tag)
    {
        if (writerNodes.Count < 1) throw new ArgumentOutOfRangeException(nameof(writerNodes), "at least one writer is needed");
        if (filesPerRank < 0) throw new ArgumentOutOfRangeException(nameof(filesPerRank), filesPerRank, "must be 0 (auto) or positive");
        var all = Enumerable.Range(0, writerNodes.Count).ToArray();
        var eligible = plans.ToDictionary(p => p.Rank, p => Eligible(all, writerNodes, rankNodes.GetValueOrDefault(p.Rank), placement));
        // Ranks sharing one set of writers share them out: ceil(writers / ranks) files each.
        var sharing = eligible.Values.GroupBy(e => string.Join(",", e)).ToDictionary(g => g.Key, g => g.Count());

        var files = new List<(int Rank, int Index, List<WriteItem> Items, long Bytes)>();
        foreach (var plan in plans.OrderBy(p => p.Rank))
        {
            if (plan.Items.Count == 0) continue;
            var writers = eligible[plan.Rank];
            var perRank = filesPerRank > 0 ? filesPerRank : Math.Max(1, (writers.Length + sharing[string.Join(",", writers)] - 1) / sharing[string.Join(",", writers)]);
            var count = Math.Min(perRank, plan.Items.Count);
            var bins = Enumerable.Range(0, count).Select(_ => (Items: new List<WriteItem>(), Bytes: 0L)).ToArray();
            foreach (var item in plan.Items.OrderByDescending(i => i.ByteLength).ThenBy(i => i.Index))
            {
                var target = 0;
                for (var b = 1; b < bins.Length; b++) if (bins[b].Bytes < bins[target].Bytes) target = b;
                bins[target].Items.Add(item);
                bins[target].Bytes += item.ByteLength;
            }
            for (var b = 0; b < bins.Length; b++)
                files.Add((plan.Rank, b, bins[b].Items.OrderBy(i => i.Index).ToList(), bins[b].Bytes));
        }

        var writerLoad = new long[writerNodes.Count];
        var writerOf = new Dictionary<(int, int), int>();
        foreach (var f in files.OrderByDescending(f => f.Bytes).ThenBy(f => f.Rank).ThenBy(f => f.Index))
        {
            var candidates = eligible[f.Rank];
            var w = candidates[0];
            foreach (var c in candidates) if (writerLoad[c] < writerLoad[w]) w = c;
            writerLoad[w] += f.Bytes;
            writerOf[(f.Rank, f.Index)] = w;
        }

        return files.Select(f =>
        {
            var w = writerOf[(f.Rank, f.Index)];
            return new FileWritePlan(FileName(f.Rank, f.Index, tag), f.Rank, w, f.Items, writerNodes[w]);
        }).ToArray();
    }

    /// <summary>
    /// Moves file <paramref name="fileIndex"/> of <paramref name="files"/> off a writer that was lost,
    /// onto the least loaded (by bytes it already has among <paramref name="files"/>) of the
    /// <paramref name="survivors"/>, indices into <paramref name="writerNodes"/>, taken in their order
    /// on a tie. Placement applies as in <see cref="Assign"/>: a local save stays on its rank's node
    /// <paramref name="rankNode"/> while a writer is left there. Null when no survivor is left.
    /// </summary>
    public static FileWritePlan? Reassign(
        IReadOnlyList<FileWritePlan> files, int fileIndex, IReadOnlyList<string> writerNodes, IReadOnlyList<int> survivors,
        string? rankNode, Placement placement)
    {
        var candidates = Eligible(survivors, writerNodes, rankNode, placement);
        if (candidates.Length == 0) return null;
        var load = new long[writerNodes.Count];
        foreach (var f in files) load[f.WriterIndex] += f.DataBytes;
        var writer = candidates[0];
        foreach (var c in candidates) if (load[c] < load[writer]) writer = c;
        return files[fileIndex] with { WriterIndex = writer, WriterNode = writerNodes[writer] };
    }

    /// <summary>The writers (of <paramref name="writers"/>) that may take a file of a rank on <paramref name="rankNode"/>.</summary>
    private static int[] Eligible(IReadOnlyList<int> writers, IReadOnlyList<string> writerNodes, string? rankNode, Placement placement)
    {
        if (placement == Placement.Spread || rankNode is null) return writers.ToArray();
        var local = writers.Where(w => writerNodes[w] == rankNode).ToArray();
        return local.Length > 0 ? local : writers.ToArray();
    }
}

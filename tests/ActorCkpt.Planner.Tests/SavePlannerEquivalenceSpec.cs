using ActorCkpt.Planner.Tests.Reference;

namespace ActorCkpt.Planner.Tests;

/// <summary>
/// The global save planner was rewritten for speed (issue 21) without changing one decision: for
/// random mixed workloads, valid and broken, it must give what the original planner
/// (<see cref="OriginalGlobalSavePlanner"/>, kept verbatim) gives — the same files with the same
/// names, ranks, writers and items in the same order, the same dedup winners, the same tensors in
/// the same order, the same rank index — or the same exception with the same text.
/// </summary>
public class SavePlannerEquivalenceSpec
{
    private const int Cases = 1000;

    [Fact]
    public void Random_workloads_should_be_planned_exactly_as_the_original_planner_plans_them()
    {
        var (valid, invalid) = (0, 0);
        for (var seed = 0; seed < Cases; seed++)
        {
            var w = Workload.Random(seed);
            var expected = Outcome(() => OriginalGlobalSavePlanner.Create(w.Plans, w.WriterNodes, w.RankNodes, w.Settings, "t"), scan: true);
            var actual = Outcome(() => GlobalSavePlanner.Create(w.Plans, w.WriterNodes, w.RankNodes, w.Settings, "t"));
            Assert.True(expected == actual, $"seed {seed} ({w.Description}):\nexpected {expected}\nactual   {actual}");
            if (expected.StartsWith("plan", StringComparison.Ordinal)) valid++;
            else invalid++;
        }
        // The generator must exercise both paths, or the comparison proves little.
        Assert.InRange(valid, Cases / 4, Cases);
        Assert.InRange(invalid, Cases / 4, Cases);
    }

    [Fact]
    public void Validation_dedup_and_assignment_alone_should_match_the_original_ones()
    {
        for (var seed = 0; seed < Cases; seed++)
        {
            var w = Workload.Random(seed);
            Assert.True(Outcome(() => OriginalSavePlanValidator.Validate(w.Plans)) == Outcome(() => SavePlanValidator.Validate(w.Plans)), $"validate, seed {seed}");
            var expected = Outcome(() => OriginalSavePlanDeduplicator.Dedup(w.Plans, w.Settings.Dedup));
            Assert.True(expected == Outcome(() => SavePlanDeduplicator.Dedup(w.Plans, w.Settings.Dedup)), $"dedup, seed {seed}: {expected}");
            Assert.True(Outcome(() => OriginalWriteAssigner.Assign(w.Plans, w.WriterNodes, w.RankNodes, w.Settings.Placement, w.Settings.FilesPerRank, "t"))
                        == Outcome(() => WriteAssigner.Assign(w.Plans, w.WriterNodes, w.RankNodes, w.Settings.Placement, w.Settings.FilesPerRank, "t")), $"assign, seed {seed}");
        }
    }

    [Fact]
    public void A_cached_plan_should_be_the_original_plan_with_the_new_tag_and_index_its_ranks_alike()
    {
        for (var seed = 0; seed < Cases; seed++)
        {
            var w = Workload.Random(seed);
            var original = Outcome(() => OriginalGlobalSavePlanner.Create(w.Plans, w.WriterNodes, w.RankNodes, w.Settings, "t2"), scan: true);
            if (!original.StartsWith("plan", StringComparison.Ordinal)) continue;
            var cache = new SavePlanCache();
            var fingerprints = w.Plans.Select(SavePlanCache.Fingerprint).ToArray();
            cache.GetOrCreate(w.Plans, fingerprints, w.WriterNodes, w.RankNodes, w.Settings, "t1");
            var nodes = w.RankNodes.ToDictionary(kv => kv.Key, kv => kv.Value); // another dictionary, same content: still a hit
            var hit = cache.GetOrCreate(w.Plans, fingerprints.ToList(), w.WriterNodes.ToList(), nodes, w.Settings, "t2");
            Assert.Equal((1, 1), (cache.Hits, cache.Misses));
            Assert.True(original == Describe(hit), $"seed {seed}:\nexpected {original}\nactual   {Describe(hit)}");
        }
    }

    [Fact]
    public void The_bench_workload_should_give_the_original_plan()
    {
        // bench-plan's shape at a size a test can afford: a quarter replicated tensors, the rest
        // sharded by rows, every rank on one node with 8 writers.
        const int world = 64, items = 32;
        var plans = Enumerable.Range(0, world).Select(r => new LocalSavePlan(r, world, Enumerable.Range(0, items).Select(i => i % 4 == 0
            ? WriteItem.ForTensor($"layers.{i}.norm", r, i, DType.Float32, new long[] { 1024 }, TensorBox.Whole(new long[] { 1024 }))
            : WriteItem.ForTensor($"layers.{i}.weight", r, i, DType.BFloat16, new[] { world * 64L, 128L }, new TensorBox(new[] { r * 64L, 0L }, new[] { 64L, 128L })))
            .ToArray())).ToArray();
        var writers = Enumerable.Repeat("local", 8).ToArray();
        var nodes = Enumerable.Range(0, world).ToDictionary(r => r, _ => "local");

        var expected = Outcome(() => OriginalGlobalSavePlanner.Create(plans, writers, nodes, SavePlanSettings.Default, "bench"), scan: true);
        var actual = Outcome(() => GlobalSavePlanner.Create(plans, writers, nodes, SavePlanSettings.Default, "bench"));

        Assert.StartsWith("plan", expected);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Many_ranks_with_keys_in_different_orders_should_give_the_original_plan()
    {
        // 96 ranks (keys are numbered in two halves side by side from 64 plans on): ranks of the
        // second half hold keys the first never saw, first, and the shared ones in another order.
        const int world = 96;
        var plans = Enumerable.Range(0, world).Select(r =>
        {
            var items = new List<WriteItem>();
            if (r >= world / 2) items.Add(WriteItem.ForTensor($"late.{r % 5}", r, 0, DType.Float32, new long[] { 3 }, TensorBox.Whole(new long[] { 3 })));
            var shared = Enumerable.Range(0, 6).Select(i => r % 3 == 0 ? i : 5 - i);
            foreach (var i in shared)
                items.Add(i % 2 == 0
                    ? WriteItem.ForTensor($"shared.{i}", r, 0, DType.BFloat16, new long[] { 4, 2 }, TensorBox.Whole(new long[] { 4, 2 }))
                    : WriteItem.ForTensor($"rows.{i}", r, 0, DType.Float32, new long[] { world, 2 }, new TensorBox(new long[] { r, 0 }, new long[] { 1, 2 })));
            items.Add(WriteItem.ForObject("step", r, 0, ObjectScope.Global, 8));
            return new LocalSavePlan(r, world, items.Select((item, i) => item with { Index = i }).ToArray());
        }).ToArray();
        var nodes = Enumerable.Range(0, world).ToDictionary(r => r, r => r < world / 2 ? "a" : "b");

        var expected = Outcome(() => OriginalGlobalSavePlanner.Create(plans, new[] { "a", "b", "a" }, nodes, SavePlanSettings.Default, "t"), scan: true);
        var actual = Outcome(() => GlobalSavePlanner.Create(plans, new[] { "a", "b", "a" }, nodes, SavePlanSettings.Default, "t"));

        Assert.StartsWith("plan", expected);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Overlaps_in_a_grid_should_be_reported_by_the_pair_the_original_reports()
    {
        // A 2 × 2 grid of blocks: both dimensions' offsets are equally varied, so the dimension the
        // sweep takes (the first of the most varied), and with it the pair named, is the tie-break's.
        // One block reaches into its neighbours along dimension 0, 1 or both (then it overlaps
        // three blocks, and which pair is named depends on that dimension).
        for (var grown = 0; grown < 4; grown++)
        for (var dims = 1; dims <= 3; dims++)
        {
            var plans = Enumerable.Range(0, 4).Select(r =>
            {
                var offsets = new[] { r % 2 * 4L, r / 2 * 4L };
                var lengths = new[] { 4L, 4L };
                for (var d = 0; d < 2; d++)
                {
                    if (r != grown || (dims & (1 << d)) == 0) continue;
                    if (offsets[d] == 0) lengths[d] += 1;
                    else offsets[d] -= 1;
                }
                return new LocalSavePlan(r, 4, new[] { WriteItem.ForTensor("g", r, 0, DType.Float32, new long[] { 8, 8 }, new TensorBox(offsets, lengths)) });
            }).ToArray();

            var expected = Outcome(() => OriginalGlobalSavePlanner.Create(plans, PlanBuilders.Writers(2), PlanBuilders.NoNodes, SavePlanSettings.Default, "t"));
            var actual = Outcome(() => GlobalSavePlanner.Create(plans, PlanBuilders.Writers(2), PlanBuilders.NoNodes, SavePlanSettings.Default, "t"));

            Assert.Contains("overlap without being equal", expected);
            Assert.Equal(expected, actual);
        }
    }

    /// <summary>What a call gave, as text that names every decision: the result, or the exception's type and message.</summary>
    private static string Outcome<T>(Func<T> run, bool scan = false)
    {
        try
        {
            return run() switch
            {
                GlobalSavePlan plan => Describe(plan, scan),
                IReadOnlyDictionary<string, TensorDescriptor> tensors => "tensors " + Describe(tensors),
                IReadOnlyList<LocalSavePlan> plans => "plans " + string.Join(" | ", plans.Select(p =>
                    $"rank {p.Rank} of {p.WorldSize}, unstaged [{string.Join(",", p.Unstaged)}]: {Describe(p.Items)}")),
                IReadOnlyList<FileWritePlan> files => "files " + Describe(files),
                var other => throw new InvalidOperationException($"unexpected result {other}"),
            };
        }
        catch (Exception e)
        {
            return $"{e.GetType().Name}: {e.Message}";
        }
    }

    /// <summary>
    /// The plan as text; each rank's files from <see cref="GlobalSavePlan.ForRank"/>, or with
    /// <paramref name="scan"/> from a scan of the files (what the original ForRank, a lookup built
    /// from the files, gave).
    /// </summary>
    private static string Describe(GlobalSavePlan plan, bool scan = false)
    {
        var ranks = Enumerable.Range(-1, plan.WorldSize + 2)
            .Select(r => $"{r}=[{string.Join(",", (scan ? plan.Files.Where(f => f.Rank == r) : plan.ForRank(r)).Select(f => f.FileName))}]");
        return $"plan world {plan.WorldSize}; files {Describe(plan.Files)}; tensors {Describe(plan.Tensors)}; by rank {string.Join(" ", ranks)}; " +
               $"bytes [{string.Join(",", plan.BytesPerRank())}]";
    }

    private static string Describe(IReadOnlyList<FileWritePlan> files) =>
        string.Join(" | ", files.Select(f => $"{f.FileName} rank {f.Rank} writer {f.WriterIndex}@{f.WriterNode}: {Describe(f.Items)}"));

    private static string Describe(IReadOnlyDictionary<string, TensorDescriptor> tensors) =>
        string.Join(", ", tensors.Select(t => $"{t.Key}={t.Value.Key}:{t.Value.DType}{Shapes.Format(t.Value.Shape)}"));

    // Items are compared by value and by identity (the hash of the very object the rank sent).
    private static string Describe(IReadOnlyList<WriteItem> items) =>
        string.Join(";", items.Select(i => $"{i.Kind} {i.Key} r{i.Rank} #{i.Index} {i.DType} {Shapes.Format(i.GlobalShape)} {i.Box} {i.Scope} @{System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(i)}"));

    /// <summary>A random save: a few ranks with sharded, replicated, partly replicated, empty and non-tensor items, sometimes broken.</summary>
    private sealed record Workload(LocalSavePlan[] Plans, string[] WriterNodes, Dictionary<int, string> RankNodes, SavePlanSettings Settings, string Description)
    {
        public static Workload Random(int seed)
        {
            var rng = new Random(seed);
            var world = rng.Next(1, 7);
            var items = Enumerable.Range(0, world).Select(_ => new List<WriteItem>()).ToArray();
            var tensors = rng.Next(1, 9);
            for (var t = 0; t < tensors; t++)
            {
                var key = $"k{rng.Next(0, 6)}.{t}";
                var dtype = rng.Next(3) switch { 0 => DType.Float32, 1 => DType.BFloat16, _ => DType.Int64 };
                long rows = rng.Next(0, 3) == 0 ? world * rng.Next(1, 4) : rng.Next(1, 13), cols = rng.Next(1, 5);
                var shape = new[] { rows, cols };
                switch (rng.Next(7))
                {
                    case 0: // replicated on every rank
                        for (var r = 0; r < world; r++) items[r].Add(WriteItem.ForTensor(key, r, 0, dtype, shape, TensorBox.Whole(shape)));
                        break;
                    case 1: // replicated on some ranks, the others hold nothing of it
                        for (var r = 0; r < world; r++)
                            if (r == 0 || rng.Next(2) == 0) items[r].Add(WriteItem.ForTensor(key, r, 0, dtype, shape, TensorBox.Whole(shape)));
                        break;
                    case 5 when world % 2 == 0: // blocks of a 2 × world/2 grid: both dimensions' offsets equally varied when world is 4
                        rows = Math.Max(rows, 2);
                        cols = Math.Max(cols, world / 2);
                        shape = new[] { rows, cols };
                        for (var r = 0; r < world; r++)
                        {
                            int bi = r % 2, bj = r / 2, nj = world / 2;
                            long r0 = bi * rows / 2, r1 = (bi + 1) * rows / 2, c0 = bj * cols / nj, c1 = (bj + 1) * cols / nj;
                            items[r].Add(WriteItem.ForTensor(key, r, 0, dtype, shape, new TensorBox(new[] { r0, c0 }, new[] { r1 - r0, c1 - c0 })));
                        }
                        break;
                    case 2: // by columns
                        for (var r = 0; r < world; r++)
                        {
                            long start = r * cols / world, end = (r + 1) * cols / world;
                            items[r].Add(WriteItem.ForTensor(key, r, 0, dtype, shape, new TensorBox(new[] { 0L, start }, new[] { rows, end - start })));
                        }
                        break;
                    case 3: // a 1-D vector split unevenly, some chunks empty
                        {
                            var length = (long)rng.Next(0, 9);
                            var cuts = Enumerable.Range(0, world - 1).Select(_ => (long)rng.Next(0, (int)length + 1)).Order().Prepend(0L).Append(length).ToArray();
                            for (var r = 0; r < world; r++)
                                items[r].Add(WriteItem.ForTensor(key, r, 0, dtype, new[] { length }, new TensorBox(new[] { cuts[r] }, new[] { cuts[r + 1] - cuts[r] })));
                            break;
                        }
                    default: // by rows, 2-way replicated groups when the world is even and asked
                        {
                            var groups = world % 2 == 0 && rng.Next(2) == 0 ? world / 2 : world;
                            for (var r = 0; r < world; r++)
                            {
                                var g = r % groups;
                                long start = g * rows / groups, end = (g + 1) * rows / groups;
                                items[r].Add(WriteItem.ForTensor(key, r, 0, dtype, shape, new TensorBox(new[] { start, 0L }, new[] { end - start, cols })));
                            }
                            break;
                        }
                }
            }
            for (var o = rng.Next(0, 3); o > 0; o--)
            {
                var key = $"state.{o}";
                var scope = rng.Next(2) == 0 ? ObjectScope.Global : ObjectScope.Rank;
                for (var r = 0; r < world; r++) items[r].Add(WriteItem.ForObject(key, r, 0, scope, rng.Next(1, 40)));
            }

            var broken = rng.Next(3) == 0 ? Break(rng, items, world) : "valid";
            var plans = new LocalSavePlan[world];
            for (var r = 0; r < world; r++)
            {
                var list = items[r];
                if (rng.Next(4) == 0) list = list.OrderBy(_ => rng.Next()).ToList();
                // Indices are positions, but sometimes reversed or clashing, so sorts by index must break ties alike.
                var mode = rng.Next(6);
                var numbered = list.Select((item, i) => item with { Index = mode switch { 0 => list.Count - i, 1 => i / 2, _ => i } }).ToArray();
                plans[r] = new LocalSavePlan(r, world, numbered);
                if (rng.Next(5) == 0)
                {
                    // Unstaged: replicas this rank skipped (sometimes every holder skipped one: unwritable).
                    var unstaged = Enumerable.Range(0, numbered.Length)
                        .Where(i => numbered[i].Kind == WriteItemKind.Tensor && rng.Next(3) == 0).ToArray();
                    plans[r] = plans[r] with { Unstaged = unstaged };
                }
            }
            if (broken == "missing rank" && world > 1) plans = plans.Where(p => p.Rank != world - 1).ToArray();
            if (rng.Next(8) == 0) plans = plans.Reverse().ToArray();

            var nodes = new[] { "a", "b", "c" }.Take(rng.Next(1, 4)).ToArray();
            var writers = Enumerable.Range(0, rng.Next(1, 6)).Select(_ => nodes[rng.Next(nodes.Length)]).ToArray();
            var rankNodes = new Dictionary<int, string>();
            for (var r = 0; r < world; r++) if (rng.Next(4) != 0) rankNodes[r] = rng.Next(5) == 0 ? "elsewhere" : nodes[rng.Next(nodes.Length)];
            var settings = new SavePlanSettings(rng.Next(2) == 0 ? DedupStrategy.Balanced : DedupStrategy.LowestRank, rng.Next(0, 4),
                rng.Next(2) == 0 ? Placement.Local : Placement.Spread);
            return new Workload(plans, writers, rankNodes, settings, $"{world} ranks, {tensors} tensors, {broken}, {settings}");
        }

        /// <summary>Breaks the workload one way and says which.</summary>
        private static string Break(Random rng, List<WriteItem>[] items, int world)
        {
            var r = rng.Next(world);
            var mine = items[r];
            if (mine.Count == 0) return "valid";
            var victim = mine[rng.Next(mine.Count)];
            switch (rng.Next(8))
            {
                case 0:
                    mine.Add(victim);
                    return "an item twice";
                case 1:
                    mine[mine.IndexOf(victim)] = victim with { DType = victim.DType == DType.Float32 ? DType.Int64 : DType.Float32 };
                    return "another dtype";
                case 2:
                    mine[mine.IndexOf(victim)] = victim with { GlobalShape = victim.GlobalShape.Select(d => d + 1).ToArray() };
                    return "another shape";
                case 3:
                    mine[mine.IndexOf(victim)] = victim with { Box = new TensorBox(victim.Box.Offsets, victim.Box.Lengths.Select(l => l + 1).ToArray()) };
                    return "a chunk too long (overlap or outside)";
                case 4:
                    mine.Remove(victim);
                    return "a chunk missing";
                case 5:
                    mine.Add(WriteItem.ForObject(victim.Key, r, 0, ObjectScope.Global, 3));
                    return "a key both tensor and entry";
                case 6:
                    mine.Add(WriteItem.ForObject("state.x", r, 0, r % 2 == 0 ? ObjectScope.Global : ObjectScope.Rank, 3));
                    if (world > 1) items[(r + 1) % world].Add(WriteItem.ForObject("state.x", (r + 1) % world, 0, r % 2 == 0 ? ObjectScope.Rank : ObjectScope.Global, 3));
                    return "an entry global and per rank";
                default:
                    return "missing rank";
            }
        }
    }
}

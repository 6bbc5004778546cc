using static ActorCkpt.Planner.Tests.PlanBuilders;

namespace ActorCkpt.Planner.Tests;

public class SavePlanDeduplicatorSpec
{
    private static LocalSavePlan[] ReplicatedEverywhere(int world, int tensors, long rows) =>
        Enumerable.Range(0, world).Select(r =>
            Plan(r, world, Enumerable.Range(0, tensors).Select(i => Whole($"w{i}", r, i, rows, 64)).ToArray())).ToArray();

    [Fact]
    public void Dedup_should_write_each_replicated_chunk_exactly_once()
    {
        var deduped = SavePlanDeduplicator.Dedup(ReplicatedEverywhere(4, 10, 8), DedupStrategy.Balanced);

        var kept = deduped.AllItems().GroupBy(i => i.Key).ToList();
        Assert.Equal(10, kept.Count);
        Assert.All(kept, g => Assert.Single(g));
    }

    [Fact]
    public void Balanced_dedup_should_spread_replicated_bytes_over_ranks()
    {
        var deduped = SavePlanDeduplicator.Dedup(ReplicatedEverywhere(4, 12, 8), DedupStrategy.Balanced);

        var bytes = deduped.Select(p => p.TotalBytes).ToArray();
        Assert.Equal(bytes.Max(), bytes.Min());
        Assert.Equal(12 * 8 * 64 * 4 / 4, bytes[0]);
    }

    [Fact]
    public void Balanced_dedup_should_account_for_bytes_a_rank_already_writes()
    {
        // Rank 0 alone holds a big tensor: the replicated ones should go to rank 1 first.
        var plans = new[]
        {
            Plan(0, 2, Whole("big", 0, 0, 100, 64), Whole("a", 0, 1, 10, 64), Whole("b", 0, 2, 10, 64)),
            Plan(1, 2, Whole("a", 1, 0, 10, 64), Whole("b", 1, 1, 10, 64)),
        };

        var deduped = SavePlanDeduplicator.Dedup(plans, DedupStrategy.Balanced);

        Assert.Equal(new[] { "big" }, deduped[0].Items.Select(i => i.Key));
        Assert.Equal(new[] { "a", "b" }, deduped[1].Items.Select(i => i.Key));
    }

    [Fact]
    public void Lowest_rank_dedup_should_give_every_replica_to_the_lowest_holder()
    {
        var deduped = SavePlanDeduplicator.Dedup(ReplicatedEverywhere(3, 5, 4), DedupStrategy.LowestRank);

        Assert.Equal(5, deduped[0].Items.Count);
        Assert.Empty(deduped[1].Items);
        Assert.Empty(deduped[2].Items);
    }

    [Fact]
    public void Dedup_should_keep_sharded_chunks_and_per_rank_entries_and_one_copy_of_global_entries()
    {
        var plans = Enumerable.Range(0, 3).Select(r => Plan(r, 3,
            Rows("w", r, 0, 3, 9, 4),
            WriteItem.ForObject("rng", r, 1, ObjectScope.Rank, 16),
            WriteItem.ForObject("iteration", r, 2, ObjectScope.Global, 8))).ToArray();

        var deduped = SavePlanDeduplicator.Dedup(plans, DedupStrategy.Balanced);

        Assert.Equal(3, deduped.AllItems().Count(i => i.Key == "w"));
        Assert.Equal(3, deduped.AllItems().Count(i => i.Key == "rng"));
        Assert.Single(deduped.AllItems(), i => i.Key == "iteration");
    }

    [Fact]
    public void Dedup_should_drop_empty_chunks()
    {
        var plans = new[]
        {
            Plan(0, 2, Tensor("w", 0, 0, new long[] { 4, 2 }, new long[] { 0, 0 }, new long[] { 4, 2 })),
            Plan(1, 2, Tensor("w", 1, 0, new long[] { 4, 2 }, new long[] { 4, 0 }, new long[] { 0, 2 })),
        };

        var deduped = SavePlanDeduplicator.Dedup(plans, DedupStrategy.Balanced);

        Assert.Single(deduped[0].Items);
        Assert.Empty(deduped[1].Items);
    }

    [Fact]
    public void Dedup_should_pick_the_holder_that_staged_a_replica_and_keep_that_choice_stable()
    {
        var full = ReplicatedEverywhere(3, 6, 4);
        var first = SavePlanDeduplicator.Dedup(full, DedupStrategy.Balanced);
        // Each rank leaves unstaged what another rank wrote: the plans of the next save.
        var partial = full.Select((p, r) => p with
        {
            Unstaged = p.Items.Select((item, i) => (item, i)).Where(x => !first[r].Items.Any(k => k.Key == x.item.Key)).Select(x => x.i).ToArray(),
        }).ToArray();

        var second = SavePlanDeduplicator.Dedup(partial, DedupStrategy.Balanced);

        Assert.All(partial, p => Assert.Equal(4, p.Unstaged.Count));
        Assert.Equal(first.Select(p => p.Items.Select(i => i.Key)), second.Select(p => p.Items.Select(i => i.Key)));
        Assert.All(second, p => Assert.Empty(p.Unstaged));
        // Rank 0 alone staged w0 and w1: lowest-rank dedup, which would pick rank 0 anyway, agrees,
        // and balanced dedup, which would split them, must still give both to rank 0.
        var onlyRank0 = full.Select(p => p with { Unstaged = p.Rank == 0 ? Array.Empty<int>() : new[] { 0, 1 } }).ToArray();
        var forced = SavePlanDeduplicator.Dedup(onlyRank0, DedupStrategy.Balanced);
        Assert.Contains(forced[0].Items, i => i.Key == "w0");
        Assert.Contains(forced[0].Items, i => i.Key == "w1");
        Assert.DoesNotContain(forced.Skip(1).AllItems(), i => i.Key is "w0" or "w1");
    }

    [Fact]
    public void Dedup_should_refuse_a_chunk_no_holder_staged_naming_it()
    {
        var plans = ReplicatedEverywhere(2, 3, 4).Select(p => p with { Unstaged = new[] { 1 } }).ToArray();

        var e = Assert.Throws<PlanValidationException>(() => SavePlanDeduplicator.Dedup(plans, DedupStrategy.Balanced));

        Assert.Contains("'w1'", Assert.Single(e.Problems));
        Assert.Contains("rank(s) 0, 1", e.Problems[0]);
    }

    [Fact]
    public void Dedup_should_be_deterministic()
    {
        var a = SavePlanDeduplicator.Dedup(ReplicatedEverywhere(5, 17, 3), DedupStrategy.Balanced);
        var b = SavePlanDeduplicator.Dedup(ReplicatedEverywhere(5, 17, 3), DedupStrategy.Balanced);

        Assert.Equal(a.Select(p => string.Join(",", p.Items.Select(i => i.Key))), b.Select(p => string.Join(",", p.Items.Select(i => i.Key))));
    }
}

using static ActorCkpt.Planner.Tests.PlanBuilders;

namespace ActorCkpt.Planner.Tests;

public class GlobalSavePlannerSpec
{
    [Fact]
    public void Global_plan_should_dedup_assign_and_describe_every_tensor()
    {
        var plans = Enumerable.Range(0, 2).Select(r => Plan(r, 2,
            Rows("sharded", r, 0, 2, 8, 4),
            Whole("replicated", r, 1, 6, 4),
            Tensor("uneven", r, 2, new long[] { 3, 4 }, new long[] { r == 0 ? 0L : 3L, 0 }, new long[] { r == 0 ? 3L : 0L, 4 }))).ToArray();

        var plan = GlobalSavePlanner.Create(plans, PlanBuilders.Writers(2), PlanBuilders.NoNodes, SavePlanSettings.Default, "t");

        Assert.Equal(new[] { "replicated", "sharded", "uneven" }, plan.Tensors.Keys.Order(StringComparer.Ordinal));
        var items = plan.Files.SelectMany(f => f.Items).ToList();
        Assert.Equal(2, items.Count(i => i.Key == "sharded"));
        Assert.Single(items, i => i.Key == "replicated");
        Assert.Single(items, i => i.Key == "uneven");
    }

    [Fact]
    public void Different_dtypes_for_one_key_should_be_refused_naming_key_and_ranks()
    {
        var plans = new[]
        {
            Plan(0, 2, Tensor("w", 0, 0, new long[] { 4 }, new long[] { 0 }, new long[] { 2 })),
            Plan(1, 2, Tensor("w", 1, 0, new long[] { 4 }, new long[] { 2 }, new long[] { 2 }, DType.BFloat16)),
        };

        var e = Assert.Throws<PlanValidationException>(() => GlobalSavePlanner.Create(plans, PlanBuilders.Writers(1), PlanBuilders.NoNodes, SavePlanSettings.Default, "t"));

        Assert.Contains("'w' is F32 [4] on rank 0 but BF16 [4] on rank 1", e.Message);
    }

    [Fact]
    public void A_tensor_of_more_dimensions_than_the_metadata_holds_should_be_refused_naming_it()
    {
        var deep = Enumerable.Repeat(1L, Shapes.MaxDimensions + 1).ToArray();
        var plans = new[] { Plan(0, 1, Whole("deep", 0, 0, deep), Whole("w", 0, 1, Enumerable.Repeat(1L, Shapes.MaxDimensions).ToArray())) };

        var e = Assert.Throws<PlanValidationException>(() => GlobalSavePlanner.Create(plans, PlanBuilders.Writers(1), PlanBuilders.NoNodes, SavePlanSettings.Default, "t"));

        Assert.Equal(["'deep' has 65 dimensions: at most 64 are supported"], e.Problems);
    }

    [Fact]
    public void A_tensor_key_the_data_files_cannot_hold_under_its_own_name_should_be_refused_naming_it()
    {
        var plans = new[]
        {
            Plan(0, 2, Whole("__metadata__", 0, 0, 2), Whole("__object__/x", 0, 1, 2), Tensor("w", 0, 2, [4], [0], [2]), Whole("w@2", 0, 3, 2), Whole("v@1", 0, 4, 2)),
            Plan(1, 2, Whole("__metadata__", 1, 0, 2), Whole("__object__/x", 1, 1, 2), Tensor("w", 1, 2, [4], [2], [2]), Whole("w@2", 1, 3, 2), Whole("v@1", 1, 4, 2)),
        };

        var e = Assert.Throws<PlanValidationException>(() => GlobalSavePlanner.Create(plans, PlanBuilders.Writers(1), PlanBuilders.NoNodes, SavePlanSettings.Default, "t"));

        // 'v@1' is fine: there is no tensor 'v'.
        Assert.Equal([
            "'__metadata__' is a name the data files reserve (__metadata__, __object__/...): rename the tensor",
            "'__object__/x' is a name the data files reserve (__metadata__, __object__/...): rename the tensor",
            "'w@2' would be stored under the name of a part of tensor 'w' ('w@offsets'): rename one of them",
        ], e.Problems);
    }

    [Fact]
    public void Two_entries_that_would_be_stored_under_one_name_should_be_refused_naming_both()
    {
        // Global entries are named "__object__/<key>", rank r's "__object__/rank<r>/<key>".
        var plans = new[] { Plan(0, 1, WriteItem.ForObject("rank0/cfg", 0, 0, ObjectScope.Global, 10), WriteItem.ForObject("cfg", 0, 1, ObjectScope.Rank, 12)) };

        var e = Assert.Throws<PlanValidationException>(() => GlobalSavePlanner.Create(plans, PlanBuilders.Writers(1), PlanBuilders.NoNodes, SavePlanSettings.Default, "t"));

        Assert.Equal(["entries 'rank0/cfg' (global) and 'cfg' (per-rank) would both be stored as '__object__/rank0/cfg'; rename one"], e.Problems);
    }

    [Fact]
    public void A_tensor_of_no_elements_should_be_planned_however_large_its_other_sizes()
    {
        var shape = new[] { 1L << 40, 1L << 40, 0L };
        var plans = new[] { Plan(0, 1, Whole("empty", 0, 0, shape)) };

        var global = GlobalSavePlanner.Create(plans, PlanBuilders.Writers(1), PlanBuilders.NoNodes, SavePlanSettings.Default, "t");

        Assert.Equal(shape, global.Tensors["empty"].Shape);
        Assert.Equal(0, Shapes.Volume(shape));
        Assert.True(Shapes.TryVolume(shape, 4, out var volume, out var bytes) && volume == 0 && bytes == 0);
    }

    [Theory]
    [InlineData(DType.Float32, new[] { 1L << 40, 1L << 40 })]
    [InlineData(DType.Float64, new[] { 1L << 61 })]
    public void A_shape_whose_bytes_64_bits_cannot_count_should_be_refused_naming_the_key(DType dtype, long[] shape)
    {
        var ones = shape.Select(_ => 1L).ToArray();
        var plans = new[] { Plan(0, 1, Tensor("huge", 0, 0, shape, new long[shape.Length], ones, dtype)) };

        var e = Assert.Throws<PlanValidationException>(() => GlobalSavePlanner.Create(plans, PlanBuilders.Writers(1), PlanBuilders.NoNodes, SavePlanSettings.Default, "t"));

        Assert.Equal([$"'huge': shape {Shapes.Format(shape)} holds more bytes than 64 bits count"], e.Problems);
    }

    [Fact]
    public void Overlapping_chunks_should_be_refused()
    {
        var plans = new[]
        {
            Plan(0, 2, Tensor("w", 0, 0, new long[] { 4 }, new long[] { 0 }, new long[] { 3 })),
            Plan(1, 2, Tensor("w", 1, 0, new long[] { 4 }, new long[] { 2 }, new long[] { 2 })),
        };

        var e = Assert.Throws<PlanValidationException>(() => GlobalSavePlanner.Create(plans, PlanBuilders.Writers(1), PlanBuilders.NoNodes, SavePlanSettings.Default, "t"));

        Assert.Contains("'w': chunks", e.Message);
        Assert.Contains("overlap", e.Message);
    }

    [Fact]
    public void A_tensor_not_fully_covered_should_be_refused()
    {
        var plans = new[] { Plan(0, 1, Tensor("w", 0, 0, new long[] { 4, 4 }, new long[] { 0, 0 }, new long[] { 4, 3 })) };

        var e = Assert.Throws<PlanValidationException>(() => GlobalSavePlanner.Create(plans, PlanBuilders.Writers(1), PlanBuilders.NoNodes, SavePlanSettings.Default, "t"));

        Assert.Contains("'w': the ranks' chunks cover 12 of its 16 elements", e.Message);
    }

    [Fact]
    public void Missing_ranks_should_be_named()
    {
        var e = Assert.Throws<PlanValidationException>(() =>
            GlobalSavePlanner.Create(new[] { Plan(0, 3, Whole("w", 0, 0, 2)) }, PlanBuilders.Writers(1), PlanBuilders.NoNodes, SavePlanSettings.Default, "t"));

        Assert.Contains("missing plans of ranks 1, 2", e.Message);
    }

    [Fact]
    public void Metadata_should_join_plan_and_write_reports()
    {
        var plans = Enumerable.Range(0, 2).Select(r => Plan(r, 2, Rows("w", r, 0, 2, 4, 2), WriteItem.ForObject("rng", r, 1, ObjectScope.Rank, 3))).ToArray();
        var plan = GlobalSavePlanner.Create(plans, PlanBuilders.Writers(1), PlanBuilders.NoNodes, SavePlanSettings.Default, "t");
        var reports = plan.Files.Select(f => new FileWriteResult(f.FileName, 1000,
            f.Items.Select((i, n) => new WrittenItem(i.StorageName, new StoredBytes(f.FileName, 64 + n * 100, i.ByteLength, 4096, new ulong[] { 1 }))).ToArray())).ToArray();

        var md = MetadataBuilder.Build(5, plan, reports, DateTimeOffset.UnixEpoch);

        // Every chunk and entry carries its planned box and rank and the bytes its writer reported.
        var written = reports.SelectMany(r => r.Items).ToDictionary(i => i.StorageName, i => i.Bytes);
        var planned = plan.Files.SelectMany(f => f.Items).ToList();
        Assert.Equal(planned.Where(i => i.Key == "w").Select(i => (i.Box, i.Rank, written[i.StorageName])).OrderBy(c => c.Rank),
            md.Tensors["w"].Chunks.Select(c => (c.Box, c.Rank, c.Bytes)).OrderBy(c => c.Rank));
        Assert.Equal(planned.Where(i => i.Key == "rng").Select(i => (i.Rank, written[i.StorageName])).OrderBy(o => o.Rank),
            md.Objects.Select(o => (o.Rank, o.Bytes)).OrderBy(o => o.Rank));
        Assert.Equal(new[] { 0, 1 }, md.Objects.Select(o => o.Rank).Order());
        Assert.Equal(plan.Files.Select(f => (f.FileName, 1000L)), md.Files.Select(f => (f.Name, f.Length)));
        Assert.Equal(2, md.WorldSize);
    }

    [Fact]
    public void Metadata_should_refuse_a_plan_whose_file_has_no_report()
    {
        var plan = GlobalSavePlanner.Create(new[] { Plan(0, 1, Whole("w", 0, 0, 4)) }, PlanBuilders.Writers(1), PlanBuilders.NoNodes, SavePlanSettings.Default, "t");

        var e = Assert.Throws<ActorCkptException>(() => MetadataBuilder.Build(1, plan, Array.Empty<FileWriteResult>(), DateTimeOffset.UnixEpoch));

        Assert.Contains("no write report for data file 'r00000-000-t.safetensors'", e.Message);
    }
}

public class GlobalSavePlannerReviewSpec
{
    [Fact]
    public void Ranks_disagreeing_on_the_number_of_dimensions_should_be_refused_not_crash()
    {
        var plans = new[]
        {
            PlanBuilders.Plan(0, 2, PlanBuilders.Tensor("w", 0, 0, new long[] { 4 }, new long[] { 0 }, new long[] { 4 })),
            PlanBuilders.Plan(1, 2, PlanBuilders.Tensor("w", 1, 0, new long[] { 2, 2 }, new long[] { 0, 0 }, new long[] { 2, 2 })),
        };

        var e = Assert.Throws<PlanValidationException>(() => GlobalSavePlanner.Create(plans, PlanBuilders.Writers(1), PlanBuilders.NoNodes, SavePlanSettings.Default, "t"));

        Assert.Contains("'w' is F32 [4] on rank 0 but F32 [2, 2] on rank 1", e.Message);
    }

    [Fact]
    public void A_global_entry_whose_ranks_hold_different_bytes_should_be_written_once_from_the_lowest_rank()
    {
        var plans = new[]
        {
            PlanBuilders.Plan(0, 3, WriteItem.ForObject("it", 0, 0, ObjectScope.Global, 4)),
            PlanBuilders.Plan(1, 3, WriteItem.ForObject("it", 1, 0, ObjectScope.Global, 3)),
            PlanBuilders.Plan(2, 3, WriteItem.ForObject("it", 2, 0, ObjectScope.Global, 4)),
        };

        var plan = GlobalSavePlanner.Create(plans, PlanBuilders.Writers(1), PlanBuilders.NoNodes, SavePlanSettings.Default, "t");

        var only = Assert.Single(plan.Files.SelectMany(f => f.Items));
        Assert.Equal(0, only.Rank);
    }

    [Fact]
    public void An_entry_global_on_one_rank_and_per_rank_on_another_should_be_refused()
    {
        var plans = new[]
        {
            PlanBuilders.Plan(0, 2, WriteItem.ForObject("rng", 0, 0, ObjectScope.Global, 4)),
            PlanBuilders.Plan(1, 2, WriteItem.ForObject("rng", 1, 0, ObjectScope.Rank, 4)),
        };

        var e = Assert.Throws<PlanValidationException>(() => GlobalSavePlanner.Create(plans, PlanBuilders.Writers(1), PlanBuilders.NoNodes, SavePlanSettings.Default, "t"));

        Assert.Contains("entry 'rng' is global on rank 0 but per-rank on rank 1", e.Message);
    }
}

public class UnstagedItemsSpec
{
    [Fact]
    public void Unstaged_positions_that_are_not_tensor_items_of_the_plan_should_be_refused_naming_them()
    {
        var items = new[] { PlanBuilders.Whole("w", 0, 0, 4, 4), WriteItem.ForObject("it", 0, 1, ObjectScope.Global, 8) };
        var plans = new[] { PlanBuilders.Plan(0, 1, items) with { Unstaged = new[] { 1, 0, 7 } } };

        var e = Assert.Throws<PlanValidationException>(() => GlobalSavePlanner.Create(plans, PlanBuilders.Writers(1), PlanBuilders.NoNodes, SavePlanSettings.Default, "t"));

        Assert.Contains("rank 0: entry 'it' is marked unstaged, but only tensor chunks can be", e.Problems);
        Assert.Contains("rank 0: unstaged item positions must ascend, but 0 follows 1", e.Problems);
        Assert.Contains("rank 0: unstaged item position 7 is past its 2 items", e.Problems);
    }
}

namespace ActorCkpt.Planner.Tests;

public class SavePlanCacheSpec
{
    private static readonly string[] Writers = { "n", "n" };
    private static readonly Dictionary<int, string> Nodes = new() { [0] = "n", [1] = "n" };

    /// <summary>Two ranks: "w" [8, 4] sharded by rows (or as <paramref name="shard"/> says), "b" [4] replicated.</summary>
    private static LocalSavePlan[] Plans(string key = "w", DType dtype = DType.Float32, long rows = 8, int shardDim = 0) =>
        Enumerable.Range(0, 2).Select(r =>
        {
            var shape = new[] { rows, 4L };
            var box = shardDim == 0
                ? new TensorBox(new[] { r * rows / 2, 0L }, new[] { rows / 2, 4L })
                : new TensorBox(new[] { 0L, r * 2L }, new[] { rows, 2L });
            return new LocalSavePlan(r, 2, new[]
            {
                WriteItem.ForTensor(key, r, 0, dtype, shape, box),
                WriteItem.ForTensor("b", r, 1, DType.Float32, new long[] { 4 }, TensorBox.Whole(new long[] { 4 })),
            });
        }).ToArray();

    private static GlobalSavePlan Plan(SavePlanCache cache, LocalSavePlan[] plans, string tag, IReadOnlyList<string>? writers = null) =>
        cache.GetOrCreate(plans, plans.Select(SavePlanCache.Fingerprint).ToArray(), writers ?? Writers, Nodes, SavePlanSettings.Default, tag);

    [Fact]
    public void An_unchanged_structure_should_be_served_from_the_cache_with_the_new_tag()
    {
        var cache = new SavePlanCache();
        var first = Plan(cache, Plans(), "t1");
        var second = Plan(cache, Plans(), "t2");

        Assert.Equal((1, 1), (cache.Hits, cache.Misses));
        var fresh = GlobalSavePlanner.Create(Plans(), Writers, Nodes, SavePlanSettings.Default, "t2");
        Assert.Equal(fresh.Files.Select(f => (f.FileName, f.Rank, f.WriterIndex, string.Join(";", f.Items.Select(i => i.StorageName)))),
            second.Files.Select(f => (f.FileName, f.Rank, f.WriterIndex, string.Join(";", f.Items.Select(i => i.StorageName)))));
        Assert.All(second.Files, f => Assert.EndsWith("-t2.safetensors", f.FileName));
        Assert.All(first.Files, f => Assert.EndsWith("-t1.safetensors", f.FileName));
        Assert.Equal(second.Files.Where(f => f.Rank == 1), second.ForRank(1));
    }

    public static TheoryData<string> Changes() => new(ChangedPlans.Keys);

    private static readonly Dictionary<string, LocalSavePlan[]> ChangedPlans = new()
    {
        { "key", Plans(key: "w2") },
        { "dtype", Plans(dtype: DType.BFloat16) },
        { "shape", Plans(rows: 10) },
        { "sharding", Plans(shardDim: 1) },
    };

    [Theory]
    [MemberData(nameof(Changes))]
    public void Any_change_of_structure_should_plan_afresh(string change)
    {
        var changed = ChangedPlans[change];
        var cache = new SavePlanCache();
        Plan(cache, Plans(), "t1");
        var second = Plan(cache, changed, "t2");

        Assert.True((cache.Hits, cache.Misses) == (0, 2), $"a change of {change} was served from the cache");
        var fresh = GlobalSavePlanner.Create(changed, Writers, Nodes, SavePlanSettings.Default, "t2");
        Assert.Equal(fresh.Tensors.Values, second.Tensors.Values);
    }

    [Fact]
    public void A_change_of_writers_should_plan_afresh()
    {
        var cache = new SavePlanCache();
        Plan(cache, Plans(), "t1");
        Plan(cache, Plans(), "t2", new[] { "n", "n", "n" });

        Assert.Equal((0, 2), (cache.Hits, cache.Misses));
    }

    [Fact]
    public void Fingerprints_should_differ_for_a_moved_chunk_and_agree_for_an_equal_plan()
    {
        Assert.Equal(SavePlanCache.Fingerprint(Plans()[0]), SavePlanCache.Fingerprint(Plans()[0]));
        Assert.NotEqual(SavePlanCache.Fingerprint(Plans()[0]), SavePlanCache.Fingerprint(Plans()[1]));
        Assert.NotEqual(SavePlanCache.Fingerprint(Plans()[0]), SavePlanCache.Fingerprint(Plans(shardDim: 1)[0]));
        // A plan served from the cache must only assign items their holders staged.
        Assert.NotEqual(SavePlanCache.Fingerprint(Plans()[0]), SavePlanCache.Fingerprint(Plans()[0] with { Unstaged = new[] { 0 } }));
    }
}

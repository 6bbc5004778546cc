using TorchSharp;

namespace ActorCkpt.Actors.Tests;

/// <summary>
/// Saves in place (<see cref="SaveShard.InPlace"/>): writers read contiguous CPU tensors where
/// they are, and only what cannot be read in place is staged. Items are kept to 64 bytes so chunks
/// are split into row ranges, whose places in the tensor's memory must come out right.
/// </summary>
public class InPlaceSaveSpec() : NodeSpec("actorckpt.shard.max-item-bytes = 64")
{
    private static readonly IReadOnlyList<(string Key, DType DType, Layout Layout, long Rows, long Cols)> Model =
        TestStates.Model(new[] { DType.Float32, DType.BFloat16, DType.Int64 }, new[] { Layout.Rows, Layout.Columns, Layout.Replicated });

    private const string Transposed = "extra.transposed";

    private static torch.Tensor TransposedValues() => torch.arange(0, 32, torch.ScalarType.Float32).reshape(4, 8).t();

    [Fact]
    public async Task An_in_place_save_should_stage_only_the_tensors_that_cannot_be_read_where_they_are()
    {
        var states = TestStates.Build(Model, 2, seed: 11);
        var transposed = states.Select(s => TransposedValues()).ToArray();
        for (var r = 0; r < 2; r++) states[r].AddReplicated(Transposed, transposed[r]);
        var node = StartNode();

        var handles = states.Select(s => node.Save(1, s, inPlace: true)).ToArray();
        await Task.WhenAll(handles.Select(h => h.Committed)).WaitAsync(Patience);

        // The transposed tensor is not contiguous: staged (in 64-byte row ranges), nothing else.
        Assert.Equal(2L * 2 * StagingPool.CapacityFor(64), node.StagingPool.AllocatedBytes);
        var targets = TestStates.Empty(Model, 3);
        foreach (var t in targets) t.AddReplicated(Transposed, torch.zeros(8, 4));
        await LoadAllAsync(node, targets);
        Assert.Empty(TestStates.Differences(Model, targets, seed: 11));
        using var expected = TransposedValues();
        Assert.All(targets, t => Assert.True(t.Tensors.Single(e => e.Key == Transposed).Tensor.eq(expected).all().item<bool>()));
        TestStates.Dispose(states.Concat(targets));
        foreach (var t in transposed) t.Dispose();
    }

    [Fact]
    public async Task An_in_place_save_should_write_the_tensors_as_they_are_when_the_writers_read_them()
    {
        var states = TestStates.Build(Model, 2, seed: 12);
        var gate = new GatedStore.Gate();
        var node = CheckpointNode.Start(Sys, new GatedStore(new LocalBlobStore(Root), gate, GatedStore.Kind.Writes), ActorCkptSettings.Create(Sys), "gated");

        var handles = states.Select(s => node.Save(1, s, inPlace: true)).ToArray();
        await gate.Entered.WaitAsync(Patience);
        // No writer has read a byte yet: a change made now is what the checkpoint holds, which a
        // staged copy would not show.
        var changed = states[0].Tensors.First(e => e.DType == DType.Float32);
        changed.Tensor.fill_(7);
        gate.Open();
        await Task.WhenAll(handles.Select(h => h.Committed)).WaitAsync(Patience);

        Assert.Equal(0, node.StagingPool.Allocations);
        var targets = TestStates.Empty(Model, 2);
        await LoadAllAsync(node, targets);
        var loaded = targets[0].Tensors.Single(e => e.Key == changed.Key).Tensor;
        Assert.True(loaded.eq(7).all().item<bool>(), $"'{changed.Key}' on rank 0 was not written as changed");
        TestStates.Dispose(states.Concat(targets));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_tensor_whose_rows_are_over_the_item_limit_should_be_cut_inside_them_and_load_bit_exact(bool inPlace)
    {
        // Rows of 160 bytes under a 64-byte limit: before, the save failed ("one row along dim 0 is
        // 160 bytes, over actorckpt.shard.max-item-bytes = 64"), as a [1, 600M] float tensor did under any limit.
        static torch.Tensor Wide(long start, long rows) => torch.arange(start * 40, (start + rows) * 40, torch.ScalarType.Float32).reshape(rows, 40);
        static torch.Tensor Deep() => torch.arange(0, 120, torch.ScalarType.Int64).reshape(3, 2, 20);
        var states = Enumerable.Range(0, 2).Select(r => new RankState(r, 2)
            .AddSharded("wide", Wide(r * 2, 2), 0, r * 2, 4)
            .AddReplicated("deep", Deep())).ToArray();
        var node = StartNode();

        await Task.WhenAll(states.Select(s => node.Save(1, s, inPlace).Committed)).WaitAsync(Patience);

        var md = node.Store.ReadMetadata(1);
        // 4 rows cut in 3 runs each (16, 16 and 8 floats); 3 x 2 slices of 20 int64 in runs of 8, 8 and 4.
        Assert.Equal(12, md.Tensors["wide"].Chunks.Count);
        Assert.Equal(18, md.Tensors["deep"].Chunks.Count);
        Assert.All(md.Tensors.Values.SelectMany(t => t.Chunks), c => Assert.InRange(c.Bytes.Length, 1, 64));
        var targets = Enumerable.Range(0, 3).Select(r => new RankState(r, 3)
            .AddReplicated("wide", torch.zeros(4, 40))
            .AddReplicated("deep", torch.zeros(new long[] { 3, 2, 20 }, torch.ScalarType.Int64))).ToArray();
        await LoadAllAsync(node, targets);
        using var wide = Wide(0, 4);
        using var deep = Deep();
        Assert.All(targets, t =>
        {
            Assert.True(t.Tensors.Single(e => e.Key == "wide").Tensor.eq(wide).all().item<bool>(), "wide");
            Assert.True(t.Tensors.Single(e => e.Key == "deep").Tensor.eq(deep).all().item<bool>(), "deep");
        });
        TestStates.Dispose(states.Concat(targets));
    }
}

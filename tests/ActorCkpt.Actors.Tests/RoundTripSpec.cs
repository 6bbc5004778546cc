using TorchSharp;

namespace ActorCkpt.Actors.Tests;

public class RoundTripSpec : NodeSpec
{
    private static readonly Layout[] AllLayouts = { Layout.Replicated, Layout.Rows, Layout.Columns, Layout.UnevenWithEmpty };

    [Fact]
    public async Task Every_dtype_and_layout_should_round_trip_bit_exact()
    {
        var node = StartNode();
        var model = TestStates.Model(TestStates.AllDTypes, AllLayouts);
        var states = TestStates.Build(model, 4, seed: 1);
        var targets = TestStates.Empty(model, 4);

        var summary = await SaveAllAsync(node, 1, states);
        await LoadAllAsync(node, targets);

        Assert.Equal(1, summary.Step);
        Assert.Empty(TestStates.Differences(model, targets, seed: 1));
        TestStates.Dispose(states.Concat(targets));
    }

    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(1)]
    public async Task Four_ranks_saved_should_load_bit_exact_on_another_rank_count(int loadRanks)
    {
        var node = StartNode();
        var model = TestStates.Model(new[] { DType.Float32, DType.BFloat16, DType.Int64, DType.UInt8 }, AllLayouts);
        var states = TestStates.Build(model, 4, seed: 2);
        var targets = TestStates.Empty(model, loadRanks);

        await SaveAllAsync(node, 3, states);
        var results = await LoadAllAsync(node, targets);

        Assert.All(results, r => Assert.Equal(4, r.SavedWorldSize));
        Assert.Empty(TestStates.Differences(model, targets, seed: 2));
        TestStates.Dispose(states.Concat(targets));
    }

    [Fact]
    public async Task Replicated_tensors_should_be_written_once()
    {
        var node = StartNode();
        var model = TestStates.Model(new[] { DType.Float32 }, new[] { Layout.Replicated });
        var states = TestStates.Build(model, 4, seed: 3);

        await SaveAllAsync(node, 1, states);
        var md = node.Store.ReadMetadata(1);

        Assert.Single(md.Tensors["t.float32.replicated"].Chunks);
        TestStates.Dispose(states);
    }

    [Fact]
    public async Task Non_tensor_entries_should_round_trip_globally_and_per_rank()
    {
        var node = StartNode();
        var states = Enumerable.Range(0, 3).Select(r => new RankState(r, 3)
            .AddReplicated("w", torch.ones(2, 2))
            .AddJson("trainer.iteration", 1234L, ObjectScope.Global)
            .AddObject("rng.state", new byte[] { (byte)r, 9, 9 }, ObjectScope.Rank)
            .AddJson("data_loader", new { epoch = 2, position = 100 + r }, ObjectScope.Rank)
            .AddObject("empty", Array.Empty<byte>(), ObjectScope.Global)).ToArray();
        await SaveAllAsync(node, 5, states);

        var targets = Enumerable.Range(0, 4).Select(r => new RankState(r, 4).AddReplicated("w", torch.zeros(2, 2))).ToArray();
        var results = await LoadAllAsync(node, targets);

        Assert.All(results, r => Assert.Equal(1234L, r.Json<long>("trainer.iteration")));
        Assert.All(results, r => Assert.Empty(r.Objects["empty"]));
        for (var r = 0; r < 3; r++)
        {
            Assert.Equal(new byte[] { (byte)r, 9, 9 }, results[r].Objects["rng.state"]);
            Assert.Equal(100 + r, results[r].Json<System.Text.Json.JsonElement>("data_loader").GetProperty("position").GetInt32());
        }
        Assert.False(results[3].Objects.ContainsKey("rng.state"));
        TestStates.Dispose(states.Concat(targets));
    }

    [Fact]
    public async Task Nested_state_should_flatten_to_dotted_keys_and_load_back()
    {
        var node = StartNode();
        var weight = torch.arange(12, torch.float32).reshape(3, 4);
        var nested = new Dictionary<string, object>
        {
            ["model"] = new Dictionary<string, object>
            {
                ["layer"] = new Dictionary<string, object> { ["weight"] = weight, ["bias"] = new TensorShard(torch.ones(2), new long[] { 4 }, new long[] { 0 }) },
            },
            ["rng"] = new byte[] { 1, 2, 3 },
        };
        var other = new Dictionary<string, object>
        {
            ["model"] = new Dictionary<string, object>
            {
                ["layer"] = new Dictionary<string, object> { ["weight"] = weight, ["bias"] = new TensorShard(torch.full(2, 2f), new long[] { 4 }, new long[] { 2 }) },
            },
            ["rng"] = new byte[] { 4 },
        };
        await SaveAllAsync(node, 1, new[] { RankState.FromNested(0, 2, nested), RankState.FromNested(1, 2, other) });

        var target = new RankState(0, 1).AddReplicated("model.layer.weight", torch.zeros(3, 4)).AddReplicated("model.layer.bias", torch.zeros(4));
        var result = (await LoadAllAsync(node, new[] { target }))[0];

        var tree = target.ToNested();
        var layer = (IReadOnlyDictionary<string, object>)((IReadOnlyDictionary<string, object>)tree["model"])["layer"];
        Assert.True(((TensorShard)layer["weight"]).Local.allclose(weight, rtol: 0, atol: 0));
        Assert.Equal(new[] { 1f, 1f, 2f, 2f }, ((TensorShard)layer["bias"]).Local.data<float>().ToArray());
        Assert.Equal(new byte[] { 1, 2, 3 }, result.Objects["rng"]);
    }

    [Fact]
    public async Task Chunks_over_the_item_limit_should_be_split_and_load_back_exact()
    {
        var node = StartNode(settings: ActorCkptSettings.Create(Sys) with { MaxItemBytes = 64 });
        var model = TestStates.Model(new[] { DType.Float32, DType.Int8 }, new[] { Layout.Rows, Layout.Columns, Layout.Replicated });
        var states = TestStates.Build(model, 2, seed: 4);
        var targets = TestStates.Empty(model, 3);

        await SaveAllAsync(node, 1, states);
        await LoadAllAsync(node, targets);

        // A row of [13, 6] float32 is 24 bytes: two rows to an item of at most 64, so 7 chunks, the last of one row.
        Assert.Equal(Enumerable.Range(0, 7).Select(i => new TensorBox(new[] { 2L * i, 0 }, new[] { Math.Min(2, 13 - 2L * i), 6 })),
            node.Store.ReadMetadata(1).Tensors["t.float32.replicated"].Chunks.Select(c => c.Box).OrderBy(b => b.Offsets[0]));
        Assert.Empty(TestStates.Differences(model, targets, seed: 4));
        TestStates.Dispose(states.Concat(targets));
    }

    [Theory]
    [InlineData("assume_ok_unexpected")]
    [InlineData("raise_unexpected")]
    [InlineData("raise_all")]
    [InlineData("log_unexpected")]
    [InlineData("log_all")]
    [InlineData("return_unexpected")]
    [InlineData("return_all")]
    [InlineData("ignore_all")]
    public async Task Mismatched_keys_should_be_raised_logged_returned_or_ignored_as_the_strictness_mode_says(string mode)
    {
        // The checkpoint has a and b, and entries o and p; the state asks for a and c, and entries o and e: c and e are
        // missing, b unexpected (entries the state does not name are returned, never unexpected). Before, e went unnoticed.
        var node = StartNode();
        await SaveAllAsync(node, 1, new[] { new RankState(0, 1).AddReplicated("a", torch.ones(2)).AddReplicated("b", torch.ones(2))
            .AddJson("o", 1, ObjectScope.Global).AddJson("p", 2, ObjectScope.Rank) });
        var target = new RankState(0, 1).AddReplicated("a", torch.zeros(2)).AddReplicated("c", torch.full(2, 5f))
            .AddJson("o", 0, ObjectScope.Global).AddJson("e", 0, ObjectScope.Global);
        var strict = Strictness.Parse(mode);
        var missing = Strictness.ForMissing(strict);
        var unexpected = Strictness.ForUnexpected(strict);

        if (missing == KeyAction.Raise || unexpected == KeyAction.Raise)
        {
            var e = await Assert.ThrowsAsync<LoadPlanException>(() => node.LoadAsync(target, strict: strict));
            Assert.Equal(new[] { "c", "e" }, e.MissingKeys);
            Assert.Equal(unexpected == KeyAction.Raise ? new[] { "b" } : Array.Empty<string>(), e.UnexpectedKeys);
            Assert.Equal(new[] { 0f, 0f }, target.Tensors[0].Tensor.data<float>().ToArray());
            return;
        }
        var logged = (missing == KeyAction.Log ? 1 : 0) + (unexpected == KeyAction.Log ? 1 : 0);
        var result = await EventFilter.Warning(contains: "step 1 ").ExpectAsync(logged, () => node.LoadAsync(target, strict: strict));

        Assert.Equal(missing == KeyAction.Return ? new[] { "c", "e" } : Array.Empty<string>(), result.MissingKeys);
        Assert.Equal(unexpected == KeyAction.Return ? new[] { "b" } : Array.Empty<string>(), result.UnexpectedKeys);
        Assert.Equal(new[] { 1f, 1f }, target.Tensors[0].Tensor.data<float>().ToArray());
        Assert.Equal(new[] { 5f, 5f }, target.Tensors[1].Tensor.data<float>().ToArray());
    }

    [Fact]
    public async Task A_shape_mismatch_should_name_the_key()
    {
        var node = StartNode();
        await SaveAllAsync(node, 1, new[] { new RankState(0, 1).AddReplicated("w", torch.ones(2, 3)) });

        var e = await Assert.ThrowsAsync<LoadPlanException>(() => node.LoadAsync(new RankState(0, 1).AddReplicated("w", torch.zeros(3, 2))));

        Assert.Contains("'w' has shape [2, 3] in the checkpoint but [3, 2]", e.Message);
    }

    [Fact]
    public async Task Loading_into_a_non_contiguous_tensor_should_fill_it_in_place()
    {
        var node = StartNode();
        var source = torch.arange(12, torch.float32).reshape(3, 4);
        await SaveAllAsync(node, 1, new[] { new RankState(0, 1).AddReplicated("w", source) });
        var storage = torch.zeros(4, 3);
        var transposed = storage.t();

        await node.LoadAsync(new RankState(0, 1).AddReplicated("w", transposed));

        Assert.True(transposed.allclose(source, rtol: 0, atol: 0));
    }

    [Fact]
    public async Task Loading_into_an_expanded_view_should_be_refused_before_any_tensor_is_filled()
    {
        var node = StartNode();
        await SaveAllAsync(node, 1, new[] { new RankState(0, 1).AddReplicated("v", torch.ones(4)).AddReplicated("e", torch.arange(6, torch.float32).reshape(2, 3)) });
        var v = torch.zeros(4);
        var expanded = torch.zeros(1, 3).expand(2, 3);

        // Before, TorchSharp's copy_ refused the expanded target only after every read, with 'v' already filled.
        var e = await Assert.ThrowsAsync<ActorCkptException>(() => node.LoadAsync(new RankState(0, 1).AddReplicated("v", v).AddReplicated("e", expanded)));

        Assert.Equal("'e' cannot be loaded into its tensor: its elements overlap in memory (dim 0 of size 2 has stride 0, as an expanded view has); load into a tensor of its own (clone() it)",
            e.Message);
        Assert.Equal(0f, v.sum().item<float>());
    }
}

using static TorchSharp.torch;

namespace ActorCkpt.Host.Tests;

/// <summary>
/// Arguments the public API refuses at the call, in one line: an enum value that names no member
/// (a cast integer) and a token cancelled before the call. Before, <c>(SaveTier)99</c> reached the
/// planner, which failed on it and restarted, and the save never ended; <c>(StrictHandling)99</c>
/// and <c>(ObjectScope)99</c> passed for a default.
/// </summary>
public sealed class ApiArgumentSpec : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Tensors_on_the_meta_device_should_be_refused_naming_them_for_saves_and_loads_alike()
    {
        await using var ckpt = Checkpointer.Start(_temp.Path);
        using var meta = empty(3, 4, device: META);
        const string refusal = "the tensor is on the meta device, which holds no data to save or load into (materialize it first, e.g. with to_empty) (Parameter 'tensor')";

        Assert.Equal($"'r': {refusal}", Assert.Throws<ArgumentException>(() => new RankState(0, 1).AddReplicated("r", meta)).Message);
        Assert.Equal($"'s': {refusal}", Assert.Throws<ArgumentException>(() => new RankState(0, 1).AddSharded("s", meta, 0, 0, 3)).Message);
        Assert.Equal($"'t': {refusal}", Assert.Throws<ArgumentException>(() => new RankState(0, 1).AddTensor("t", meta, new long[] { 3, 4 }, new long[] { 0, 0 })).Message);
        // A model built on meta for deferred initialization: before, its load "succeeded" and filled nothing
        // (and its save failed with libtorch's backtrace).
        using (var saved = nn.Linear(4, 3)) await ckpt.SaveAsync(1, 0, 1, new IStateful[] { new ModuleState(saved) });
        using var deferred = nn.Linear(4, 3, device: META);
        var load = await Assert.ThrowsAsync<ArgumentException>(() => ckpt.LoadAsync(0, 1, new IStateful[] { new ModuleState(deferred) }, 1));
        Assert.Equal($"'model.weight': {refusal}", load.Message);
        var save = await Assert.ThrowsAsync<ArgumentException>(() => ckpt.SaveAsync(2, 0, 1, new IStateful[] { new ModuleState(deferred) }));
        Assert.Equal($"'model.weight': {refusal}", save.Message);
    }

    [Fact]
    public async Task Null_or_disposed_arguments_and_out_of_range_ones_should_be_refused_in_one_line_naming_them()
    {
        await using var ckpt = Checkpointer.Start(_temp.Path);
        var gone = zeros(2);
        gone.Dispose();

        // Before: bare NullReferenceExceptions, TorchSharp's "Tensor invalid -- empty handle." naming no key,
        // "(Parameter 'source')" for the parts, and .NET's second line "Actual value was …".
        Assert.Equal("'m': the tensor is null (Parameter 'tensor')", Assert.Throws<ArgumentNullException>(() => new RankState(0, 1).AddReplicated("m", null!)).Message);
        Assert.Equal("'d': the tensor is disposed (Parameter 'tensor')", Assert.Throws<ArgumentException>(() => new RankState(0, 1).AddReplicated("d", gone)).Message);
        Assert.Equal("'o': the bytes are null (Parameter 'bytes')", Assert.Throws<ArgumentNullException>(() => new RankState(0, 1).AddObject("o", null!, ObjectScope.Rank)).Message);
        // Before: "negative offset or length in [-1] / [3]" and "offsets [0, 0] and lengths [3] differ in rank", naming no key.
        using var three = ones(3);
        Assert.Equal("'x': negative offset or length in [-1] / [3]", Assert.Throws<ArgumentException>(() => new RankState(0, 1).AddSharded("x", three, 0, -1, 3)).Message);
        Assert.Equal("'y': offsets [0, 0] and lengths [3] differ in rank",
            Assert.Throws<ArgumentException>(() => new RankState(0, 1).AddTensor("y", three, new long[] { 3 }, new long[] { 0, 0 })).Message);
        Assert.Equal("Value cannot be null. (Parameter 'state')", (await Assert.ThrowsAsync<ArgumentNullException>(() => ckpt.SaveAsync(1, (RankState)null!))).Message);
        Assert.Equal("Value cannot be null. (Parameter 'target')", (await Assert.ThrowsAsync<ArgumentNullException>(() => ckpt.LoadAsync((RankState)null!))).Message);
        Assert.Equal("Value cannot be null. (Parameter 'parts')", (await Assert.ThrowsAsync<ArgumentNullException>(() => ckpt.LoadAsync(0, 1, null!))).Message);
        using var w = ones(2);
        var negative = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => ckpt.SaveAsync(-1, new RankState(0, 1).AddReplicated("w", w)));
        Assert.Equal("step -1: steps are non-negative (Parameter 'step')", negative.Message);
        var rank = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => ckpt.IsQueueEmptyAsync(2, 1, TimeSpan.FromSeconds(30)));
        Assert.Equal("rank 2: a rank of a world of 1 is 0 to 0 (Parameter 'rank')", rank.Message);
        Assert.Equal(1, (await ckpt.SaveAsync(1, new RankState(0, 1).AddReplicated("w", w))).Step);
    }

    [Fact]
    public async Task A_key_with_a_lone_surrogate_should_be_refused_when_added_naming_it_and_a_surrogate_pair_should_round_trip()
    {
        await using var ckpt = Checkpointer.Start(_temp.Path);
        using var w = ones(2);

        // Before, both were stored as "k\uFFFD": the save committed a step whose metadata no reader could open.
        var tensor = Assert.Throws<ArgumentException>(() => new RankState(0, 1).AddReplicated("k\ud800", w));
        Assert.Equal("key 'k\\uD800' holds a lone UTF-16 surrogate (\\uD800 at index 1): keys are stored as UTF-8, which has no form for it, " +
                     "so it would be saved under another key", tensor.Message);
        var entry = Assert.Throws<ArgumentException>(() => new RankState(0, 1).AddObject("o.\udc00x", [1], ObjectScope.Global));
        Assert.StartsWith("key 'o.\\uDC00x' holds a lone UTF-16 surrogate (\\uDC00 at index 2)", entry.Message);
        Assert.Throws<ArgumentException>(() => new RankState(0, 1).AddJson("\udbff", 1, ObjectScope.Rank));

        // A pair is one character (U+1F600), stored as its four UTF-8 bytes.
        await ckpt.SaveAsync(1, new RankState(0, 1).AddReplicated("emoji.\ud83d\ude00", w));
        using var target = zeros(2);
        await ckpt.LoadAsync(new RankState(0, 1).AddReplicated("emoji.\ud83d\ude00", target), 1);
        Assert.Equal(w.data<float>().ToArray(), target.data<float>().ToArray());
    }

    [Fact]
    public async Task Enum_values_that_name_no_member_should_be_refused_at_the_call_and_leave_the_checkpointer_working()
    {
        await using var ckpt = Checkpointer.Start(_temp.Path);
        using var saved = arange(12, dtype: float32).reshape(3, 4);

        var tier = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => ckpt.SaveAsync(1, new RankState(0, 1).AddReplicated("w", saved), (SaveTier)99));
        Assert.StartsWith("save tier 99 is not one of policy, memory, disk, memory-and-disk", tier.Message);
        var scope = Assert.Throws<ArgumentOutOfRangeException>(() => new RankState(0, 1).AddJson("j", 1, (ObjectScope)99));
        Assert.StartsWith("object scope 99 is not one of global, rank", scope.Message);
        // Before, .NET's own "… cannot be written as valid JSON …", naming no entry.
        var nan = Assert.Throws<ArgumentException>(() => new RankState(0, 1).AddJson("loss", double.NaN, ObjectScope.Global));
        Assert.StartsWith("the entry 'loss' cannot be written as JSON: ", nan.Message);

        // The bad tier aborted this rank's save of the step (other ranks would hear it at once): the same step saves, and loads.
        await ckpt.SaveAsync(1, new RankState(0, 1).AddReplicated("w", saved));
        using var target = zeros(3, 4);
        var strict = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => ckpt.LoadAsync(new RankState(0, 1).AddReplicated("w", target), 1, (StrictHandling)99));
        Assert.StartsWith("strict handling 99 is not one of assume_ok_unexpected, log_unexpected, log_all, raise_unexpected, raise_all, return_unexpected, return_all, ignore_all", strict.Message);
        Assert.Equal(0, target.sum().item<float>());
        await ckpt.LoadAsync(new RankState(0, 1).AddReplicated("w", target), 1);
        Assert.Equal(saved.data<float>().ToArray(), target.data<float>().ToArray());

        var reader = CheckpointReader.Open(_temp.Path);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => reader.LoadAsync(new RankState(0, 1).AddReplicated("w", target), 1, (StrictHandling)99));
    }

    [Fact]
    public async Task A_token_cancelled_before_the_call_should_cancel_GetLatestStepAsync()
    {
        await using var ckpt = Checkpointer.Start(_temp.Path);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ckpt.GetLatestStepAsync(new CancellationToken(canceled: true)));
        Assert.Null(await ckpt.GetLatestStepAsync());
    }
}

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

        // The planner never saw the bad tier: the same step saves, and loads.
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

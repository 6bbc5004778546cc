using ActorCkpt.SharedTests;
using TorchSharp;

namespace ActorCkpt.Host.Tests;

/// <summary>
/// What a caller hears of its saves: a <see cref="ICheckpointer.FinalizeAsync"/> whose wait is
/// cancelled takes no outcome (the next call returns them), and a rank whose parts cannot be made
/// into a state aborts the step's save on every rank at once, naming itself and the error.
/// </summary>
public sealed class SaveOutcomeSpec : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_cancelled_blocking_finalize_should_leave_the_outcomes_to_the_next_call()
    {
        var (ckpt, gate, handle) = await HeldSaveAsync(2);
        await using var _ = ckpt;

        using var cancelled = new CancellationTokenSource();
        var waiting = ckpt.FinalizeAsync(blocking: true, cancelled.Token);
        cancelled.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting).WaitAsync(Patience);
        gate.Open();
        await handle.Committed.WaitAsync(Patience);

        // Before: the cancelled call went on waiting unseen, and took step 2's outcome when the save ended.
        Assert.Equal([(2L, SaveStatus.Committed)], (await ckpt.FinalizeAsync(blocking: false).WaitAsync(Patience)).Select(o => (o.Step, o.Status)));
    }

    [Fact]
    public async Task A_part_that_cannot_be_saved_on_one_rank_should_abort_the_other_ranks_save_at_once_naming_it()
    {
        // An hour's plan deadline: before, rank 0 waited it out for rank 1's plan ("rank 1 did not send its plan within …").
        await using var ckpt = Checkpointer.Start(_temp.Path, "actorckpt.planner.plan-timeout = 1h");
        using var good = torch.nn.Linear(8, 4);
        var rank0 = ckpt.SaveAsync(1, 0, 2, [new ModuleState(good)]);

        var rank1 = ckpt.SaveAsync(1, 1, 2, [new FailingPart()]);

        Assert.Equal("boom on rank 1", (await Assert.ThrowsAsync<InvalidOperationException>(() => rank1).WaitAsync(Patience)).Message);
        var aborted = await Assert.ThrowsAsync<CheckpointFailedException>(() => rank0).WaitAsync(Patience);
        Assert.Equal("save of step 1 failed: rank 1 could not stage its state: InvalidOperationException: boom on rank 1", aborted.Message);
        Assert.Null(await ckpt.GetLatestStepAsync());
    }

    [Fact]
    public async Task A_failing_second_call_of_a_step_in_flight_should_leave_that_save_alone()
    {
        var (ckpt, gate, handle) = await HeldSaveAsync(1);
        await using var _ = ckpt;

        // Its error is its own: the save in flight is not "rank 0 could not stage its state".
        await Assert.ThrowsAsync<InvalidOperationException>(() => ckpt.SaveAsync(1, 0, 1, [new FailingPart()])).WaitAsync(Patience);
        gate.Open();

        Assert.Equal(1, (await handle.Committed.WaitAsync(Patience)).Step);
        Assert.Equal(1L, await ckpt.GetLatestStepAsync());
    }

    /// <summary>A checkpointer whose save of <paramref name="step"/> (one rank) is held at its first data file, with the save's handle.</summary>
    private async Task<(Checkpointer Ckpt, WriteGate Gate, SaveHandle Handle)> HeldSaveAsync(long step)
    {
        var gate = new WriteGate();
        var ckpt = Checkpointer.Start(_temp.Path, null, inner => new GatedWrites(inner, gate));
        // Staged when StartSaveAsync returns: the tensor may go.
        using var w = torch.arange(64, dtype: torch.float32);
        var handle = await ckpt.StartSaveAsync(step, new RankState(0, 1).AddReplicated("w", w));
        await gate.Entered.WaitAsync(Patience);
        return (ckpt, gate, handle);
    }

    /// <summary>A part whose state cannot be read.</summary>
    private sealed class FailingPart : IStateful
    {
        public void Save(RankState state) => throw new InvalidOperationException("boom on rank " + state.Rank);

        public void PrepareLoad(RankState target, CheckpointMetadata metadata) => throw new NotSupportedException();

        public void Restore(LoadResult result) => throw new NotSupportedException();
    }
}

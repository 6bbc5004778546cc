using ActorCkpt.SharedTests;
using Akka.Actor;
using TorchSharp;

namespace ActorCkpt.Host.Tests;

/// <summary>A store a test's wrapper made for a checkpointer (fault injection) stops with it: a write it holds does not outlive the node.</summary>
public sealed class WrappedStoreSpec : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_fault_store_holding_a_write_should_be_stopped_with_its_checkpointer()
    {
        var gate = new WriteGate();
        FaultInjectingBlobStore? faults = null;
        var ckpt = Checkpointer.Start(_temp.Path, null, inner => faults = new FaultInjectingBlobStore(inner, FaultPolicy.BlockNth(1, gate)));
        using var w = torch.ones(64);
        var save = ckpt.SaveAsync(1, new RankState(0, 1).AddReplicated("w", w));
        await gate.Entered.WaitAsync(TimeSpan.FromSeconds(30));

        await ckpt.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));

        // Before, nothing stopped the store: its held write waited for the gate after the node was gone, and went on when it opened.
        gate.Open();
        Assert.Equal("'x.safetensors': the node writing through these storage faults has stopped",
            Assert.Throws<IOException>(() => faults!.Create("x.safetensors")).Message);
        await Assert.ThrowsAnyAsync<Exception>(() => save.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Disposing_a_checkpointer_should_refuse_new_saves_and_let_the_one_in_flight_commit()
    {
        var gate = new WriteGate();
        // Not a fault store a test made (those stop first): a slow disk the save must wait out.
        var ckpt = Checkpointer.Start(_temp.Path, null, inner => new GatedWrites(inner, gate));
        using var w = torch.arange(64, dtype: torch.float32);
        var handle = await ckpt.StartSaveAsync(1, new RankState(0, 1).AddReplicated("w", w));
        await gate.Entered.WaitAsync(TimeSpan.FromSeconds(30));

        var dispose = ckpt.DisposeAsync().AsTask();
        var refused = await Assert.ThrowsAsync<ActorCkptException>(() => ckpt.SaveAsync(2, new RankState(0, 1).AddReplicated("w", w)).WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal("the checkpointer is being disposed: the save of step 2 was not started", refused.Message);
        gate.Open();
        // Before, the dispose stopped the system at once: the save failed ("the shard actor of rank 0 stopped"), though it could have committed.
        await handle.Committed.WaitAsync(TimeSpan.FromSeconds(30));
        await dispose.WaitAsync(TimeSpan.FromSeconds(30));

        var reader = CheckpointReader.Open(_temp.Path);
        Assert.Equal(1, reader.LatestStep);
        using var loaded = reader.LoadKeys(["w"])["w"];
        Assert.True(loaded.bytes.SequenceEqual(w.bytes));
    }

    [Fact]
    public async Task A_process_ending_without_disposing_should_let_the_save_in_flight_commit()
    {
        var gate = new WriteGate();
        var ckpt = Checkpointer.Start(_temp.Path, null, inner => new GatedWrites(inner, gate));
        using var w = torch.arange(64, dtype: torch.float32);
        var handle = await ckpt.StartSaveAsync(1, new RankState(0, 1).AddReplicated("w", w));
        await gate.Entered.WaitAsync(TimeSpan.FromSeconds(30));

        // What Akka does on ProcessExit (Main returned without disposing) and on SIGTERM.
        var shutdown = CoordinatedShutdown.Get(ckpt.System).Run(CoordinatedShutdown.ClrExitReason.Instance);
        var refused = await Assert.ThrowsAsync<ActorCkptException>(() => ckpt.SaveAsync(2, new RankState(0, 1).AddReplicated("w", w)).WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal("the process is stopping: the save of step 2 was not started", refused.Message);
        gate.Open();
        // Before, the system stopped at once: the save was cut off, and the step never written, without a word.
        await handle.Committed.WaitAsync(TimeSpan.FromSeconds(30));
        await shutdown.WaitAsync(TimeSpan.FromSeconds(60));
        await ckpt.System.WhenTerminated.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(1, CheckpointReader.Open(_temp.Path).LatestStep);
    }

    [Theory]
    [InlineData("300ms", "0.3")]
    // Before, 0s skipped the cut-off: "the shard actor of rank 0 stopped", for a save that may have committed.
    [InlineData("0s", "0")]
    public async Task A_save_still_in_flight_when_the_dispose_stops_waiting_should_fail_saying_so(string finishOnDispose, string seconds)
    {
        var gate = new WriteGate();
        var ckpt = Checkpointer.Start(_temp.Path, $"actorckpt.async.finish-on-dispose = {finishOnDispose}", inner => new GatedWrites(inner, gate));
        using var w = torch.arange(64, dtype: torch.float32);
        var handle = await ckpt.StartSaveAsync(1, new RankState(0, 1).AddReplicated("w", w));
        await gate.Entered.WaitAsync(TimeSpan.FromSeconds(30));

        await ckpt.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        gate.Open();

        // Before: "the shard actor of rank 0 stopped", which said nothing of the dispose.
        var cut = await Assert.ThrowsAsync<CheckpointFailedException>(() => handle.Committed.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal($"save of step 1 failed: the checkpointer was disposed, and actorckpt.async.finish-on-dispose ({seconds}s) ran out before this save ended; " +
            "it was cut off before its verdict (the catalog tells whether it committed)", cut.Message);
    }

    [Fact]
    public async Task A_load_queued_behind_a_save_in_flight_should_end_at_once_when_cancelled()
    {
        var gate = new WriteGate();
        await using var ckpt = Checkpointer.Start(_temp.Path, "", inner => new GatedWrites(inner, gate));
        using var w = torch.arange(64, dtype: torch.float32);
        var save = await ckpt.StartSaveAsync(1, new RankState(0, 1).AddReplicated("w", w));
        await gate.Entered.WaitAsync(TimeSpan.FromSeconds(30));
        using var cancel = new CancellationTokenSource();
        using var target = torch.zeros(64);
        var load = ckpt.LoadAsync(new RankState(0, 1).AddReplicated("w", target), cancellationToken: cancel.Token);

        cancel.Cancel();
        // Before: it waited in the shard actor's stash, its token unheard, until the save ended (here: never, the write held).
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => load.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.False(save.IsFinished);
        gate.Open();
        await save.Committed.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(1, (await ckpt.LoadAsync(new RankState(0, 1).AddReplicated("w", target)).WaitAsync(TimeSpan.FromSeconds(30))).Step);
        Assert.Equal(w.data<float>().ToArray(), target.data<float>().ToArray());
    }

    [Fact]
    public async Task A_save_queued_behind_one_in_flight_when_the_dispose_stops_waiting_should_fail_saying_so()
    {
        var gate = new WriteGate();
        var ckpt = Checkpointer.Start(_temp.Path, "actorckpt.async.finish-on-dispose = 0s", inner => new GatedWrites(inner, gate));
        using var w = torch.arange(64, dtype: torch.float32);
        await ckpt.StartSaveAsync(1, new RankState(0, 1).AddReplicated("w", w));
        await gate.Entered.WaitAsync(TimeSpan.FromSeconds(30));
        var queued = ckpt.StartSaveAsync(2, new RankState(0, 1).AddReplicated("w", w));
        // A load queued after it and cancelled answers once the shard actor has taken both in (in order).
        using var cancel = new CancellationTokenSource();
        using var target = torch.zeros(64);
        var load = ckpt.LoadAsync(new RankState(0, 1).AddReplicated("w", target), cancellationToken: cancel.Token);
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => load.WaitAsync(TimeSpan.FromSeconds(30)));

        await ckpt.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        gate.Open();

        // Before: "the actor system '…' stopped before this node heard how the save of step 2 ended (the catalog says whether it committed)".
        var cut = await Assert.ThrowsAsync<CheckpointFailedException>(() => queued.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal("save of step 2 failed: the checkpointer was disposed, and actorckpt.async.finish-on-dispose (0s) ran out before this save ended; " +
            "it was queued behind another save or load of rank 0 and never began (nothing of it was written)", cut.Message);
    }
}

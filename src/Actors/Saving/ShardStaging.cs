namespace ActorCkpt;

/// <summary>
/// One save's way into staging buffers: the state described (<see cref="StateStager.Prepare"/>,
/// leaving out replicas the last save of the same plan left to other ranks), its buffers rented
/// from the node's pool (which may wait while saves in flight use the staging budget), then filled
/// while the save goes on (<see cref="Start"/>) and <see cref="SaveHandle.Staged"/> completed once
/// they are (<see cref="Finish"/>). The shard actor waits for <see cref="Rent"/> with
/// other requests stashed; the rent gives up by itself at its deadline. Whatever goes wrong fails
/// the save's handle.
/// </summary>
internal sealed class ShardStaging
{
    private readonly StagingPool _pool;
    private readonly TimeSpan _deadline;
    private readonly bool _overlapWrites;
    private readonly CancellationTokenSource _giveUp = new();

    private ShardStaging(SaveShard request, PreparedState prepared, StagingPool pool, TimeSpan deadline, bool overlapWrites)
    {
        Request = request;
        Prepared = prepared;
        _pool = pool;
        _deadline = deadline;
        _overlapWrites = overlapWrites;
        Rent = pool.RentAllAsync(prepared.Lengths, request.Step, _giveUp.Token);
        if (Rent.IsCompleted) return;
        _giveUp.CancelAfter(deadline);
        // Once the buffers came, the deadline is moot.
        Rent.ContinueWith(_ => _giveUp.CancelAfter(Timeout.InfiniteTimeSpan), TaskScheduler.Default);
    }

    /// <summary>The save asked for.</summary>
    public SaveShard Request { get; }

    /// <summary>The state described, with the lengths to stage.</summary>
    public PreparedState Prepared { get; }

    /// <summary>The buffers, once the pool has them (cancelled when given up first, or after the plan timeout).</summary>
    public Task<IReadOnlyList<StagingBuffer>> Rent { get; }

    /// <summary>
    /// Describes <paramref name="request"/>'s state for <paramref name="rank"/> and asks
    /// <paramref name="pool"/> for its buffers. Null when the request is invalid (a negative step,
    /// another rank's state, an item that cannot be split under the size limit, more than the
    /// whole budget, a tensor that cannot be read): its handle then fails saying why, and
    /// <paramref name="failure"/> is that error.
    /// </summary>
    public static ShardStaging? Begin(SaveShard request, int rank, ActorCkptSettings settings, StagingPool pool, ReplicaMemory replicas, out Exception? failure)
    {
        failure = null;
        try
        {
            if (request.Step < 0) throw new ArgumentOutOfRangeException("step", $"step {request.Step}: steps are non-negative");
            if (request.State.Rank != rank)
                throw new ArgumentException($"state of rank {request.State.Rank} sent to the shard actor of rank {rank}");
            var prepared = StateStager.Prepare(request.State, settings.MaxItemBytes, request.InPlace);
            if (settings.SkipReplicasWrittenElsewhere) prepared = prepared.Skipping(replicas.SkippableFor(prepared.Fingerprint));
            return new ShardStaging(request, prepared, pool, settings.PlanTimeout, settings.OverlapWrites);
        }
        catch (Exception e)
        {
            request.Handle.Fail(failure = e);
            return null;
        }
    }

    /// <summary>Stops waiting for buffers (the caller cancelled): <see cref="Rent"/> ends cancelled, unless the buffers came first.</summary>
    public void GiveUp() => _giveUp.Cancel();

    /// <summary>
    /// Once <see cref="Rent"/> ended, lays the state out over the buffers and copies it: with
    /// <see cref="ActorCkptSettings.OverlapWrites"/>, off the caller's thread, writers being handed the
    /// staged state at once and waiting for each item (<see cref="StagedState.Progress"/>); else
    /// here, the returned copy complete (a copy that failed gave the buffers back and failed the handle: null).
    /// <see cref="Finish"/> completes <see cref="SaveHandle.Staged"/> once the copy is over. Null when
    /// there were no buffers (given up, or the pool's error): the handle failed saying why, and so
    /// does <see cref="Failure"/>.
    /// </summary>
    public (StagedState Staged, Task Copy)? Start()
    {
        if (!Rent.IsCompletedSuccessfully)
        {
            Request.Handle.Fail(Failure = Rent.IsCanceled
                ? new ActorCkptException($"step {Request.Step} waited {_deadline} for staging buffers (actorckpt.staging.budget = {_pool.BudgetBytes} bytes) and gave up")
                : Rent.Exception!.InnerException!);
            return null;
        }
        var buffers = Rent.Result;
        var staged = StateStager.Lay(Prepared, buffers);
        if (staged.Progress.IsComplete) return (staged, Task.CompletedTask);
        if (_overlapWrites) return (staged, Task.Run(() => StateStager.CopyAll(Prepared, buffers, staged.Progress)));
        // Copy first, write after (actorckpt.async.overlap-writes = off): on few cores the copy
        // otherwise shares them with the writers and the training loop waits longer for Staged.
        try
        {
            StateStager.CopyAll(Prepared, buffers, staged.Progress);
        }
        catch (Exception e)
        {
            _pool.Return(buffers);
            Request.Handle.Fail(Failure = e);
            return null;
        }
        return (staged, Task.CompletedTask);
    }

    /// <summary>Why <see cref="Start"/> returned null: the save ended before it was staged.</summary>
    public Exception? Failure { get; private set; }

    /// <summary>
    /// The copy <see cref="Start"/> began is over: completes <see cref="SaveHandle.Staged"/> (a
    /// crash test may kill the process right after: <paramref name="killAt"/>) and returns null, or
    /// fails the handle with the copy's error and returns it. The buffers stay the save's.
    /// </summary>
    public Exception? Finish(Task copy, KillPoint killAt)
    {
        if (copy.Exception?.InnerException is { } error)
        {
            Request.Handle.Fail(error);
            return error;
        }
        Request.Handle.SetStaged(Prepared.Lengths.Sum());
        killAt.Reached("staged", Request.Step);
        return null;
    }

    /// <summary>Gives back the buffers, if they came (the save ends before it is staged).</summary>
    public void ReturnBuffers()
    {
        if (Rent.IsCompletedSuccessfully) _pool.Return(Rent.Result);
    }

    /// <summary>
    /// The shard actor of <paramref name="rank"/> stopped while waiting: buffers still waited for go
    /// straight back when they come, and the handle fails with the error returned.
    /// </summary>
    public Exception Abandon(int rank)
    {
        var pool = _pool;
        _giveUp.Cancel();
        Rent.ContinueWith(t => pool.Return(t.Result), TaskContinuationOptions.OnlyOnRanToCompletion);
        Request.Handle.Fail(Failure = new ActorCkptException($"the shard actor of rank {rank} stopped before step {Request.Step} was staged"));
        return Failure;
    }
}

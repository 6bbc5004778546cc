namespace ActorCkpt.Actors;

/// <summary>
/// Progress of one rank's save. <see cref="Staged"/> completes once the rank's tensors are copied
/// to host memory (the training loop may change them from then on); <see cref="Committed"/> once
/// the checkpoint is durable, or faults with <see cref="CheckpointFailedException"/>. A save
/// skipped because too many were in flight completes <see cref="Staged"/> at once (nothing was
/// read) and faults <see cref="Committed"/> with <see cref="SaveSkippedException"/>.
/// </summary>
public sealed class SaveHandle
{
    private readonly TaskCompletionSource _staged = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<SaveSummary> _committed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Creates the handle of rank <paramref name="rank"/>'s save of <paramref name="step"/>.</summary>
    public SaveHandle(long step, int rank)
    {
        Step = step;
        Rank = rank;
        Sequence = Interlocked.Increment(ref _created);
    }

    private static long _created;

    /// <summary>Order of creation: a save made later has a larger number.</summary>
    internal long Sequence { get; }

    /// <summary>The step being saved.</summary>
    public long Step { get; }

    /// <summary>The rank.</summary>
    public int Rank { get; }

    /// <summary>Completes when the rank's state is in host memory.</summary>
    public Task Staged => _staged.Task;

    /// <summary>Completes when the checkpoint is committed.</summary>
    public Task<SaveSummary> Committed => _committed.Task;

    /// <summary>True once the save is over: committed, failed or skipped.</summary>
    public bool IsFinished => _committed.Task.IsCompleted;

    /// <summary>Why the save was skipped; null when it was taken.</summary>
    public string? SkipReason { get; private set; }

    /// <summary>
    /// Bytes copied into staging buffers before <see cref="Staged"/> completed: what the training
    /// loop waited for. Less than the state when it was saved in place or when replicas other ranks
    /// write were left unstaged; 0 until staged.
    /// </summary>
    public long BytesStaged { get; private set; }

    /// <summary>Tensor bytes this rank's files hold once written; 0 until the planner has assigned the writes.</summary>
    public long BytesToWrite => Interlocked.Read(ref _bytesToWrite);

    /// <summary>Tensor bytes of this rank's files written and fsynced so far.</summary>
    public long BytesWritten => Interlocked.Read(ref _bytesWritten);

    /// <summary>
    /// Raised when the planner has assigned this rank's writes and after each of its files is
    /// written, on an actor's thread: handlers must be quick and must not block.
    /// </summary>
    public event Action<SaveHandle>? Progressed;

    private long _bytesToWrite;
    private long _bytesWritten;

    internal void SetBytesToWrite(long bytes)
    {
        Interlocked.Exchange(ref _bytesToWrite, bytes);
        Progressed?.Invoke(this);
    }

    internal void AddWritten(long bytes)
    {
        Interlocked.Add(ref _bytesWritten, bytes);
        Progressed?.Invoke(this);
    }

    internal void SetStaged(long bytesCopied)
    {
        BytesStaged = bytesCopied;
        _staged.TrySetResult();
    }

    internal void SetCommitted(SaveSummary summary) => _committed.TrySetResult(summary);

    internal void Skip(string reason)
    {
        SkipReason = reason;
        _staged.TrySetResult();
        _committed.TrySetException(new SaveSkippedException(Step, reason));
    }

    internal void Fail(Exception cause)
    {
        _staged.TrySetException(cause);
        _committed.TrySetException(cause);
    }
}

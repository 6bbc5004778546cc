using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace ActorCkpt;

/// <summary>
/// One rank's save in flight, the shape of PyTorch DCP's <c>async_save</c> future.
/// <see cref="Staged"/> completes once the rank's tensors are copied to host memory (the training
/// loop may change them from then on); <see cref="Committed"/> once the checkpoint is durable, or
/// faults with <see cref="CheckpointFailedException"/>, <see cref="SaveSkippedException"/>, or
/// <see cref="OperationCanceledException"/> when the save was cancelled. Awaiting the handle awaits
/// <see cref="Committed"/>. Progress is in <see cref="BytesStaged"/>, <see cref="BytesToWrite"/>,
/// <see cref="BytesWritten"/> and the <see cref="Progressed"/> event.
/// </summary>
public sealed class SaveHandle
{
    private Exception? _handlerFailure;
    private int _handlerFailureTaken;
    private readonly TaskCompletionSource _staged = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<SaveResult> _committed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private static long _created;
    private long _bytesToWrite;
    private long _bytesWritten;
    private TimeSpan _stagedAfter;
    private int _cancelRequested;
    private int _lingering;
    private CancellationToken _cancelledBy;

    /// <summary>Creates the handle of rank <paramref name="rank"/>'s save of <paramref name="step"/>.</summary>
    internal SaveHandle(long step, int rank)
    {
        Step = step;
        Rank = rank;
        Sequence = Interlocked.Increment(ref _created);
        // A failure faults both tasks, and a caller awaits one: Staged goes unseen under SaveAsync, Committed when
        // StartSaveAsync throws at staging. Seen here, neither is reported as unobserved when collected.
        Observe(_staged.Task);
        Observe(_committed.Task);
    }

    private static void Observe(Task task) =>
        task.ContinueWith(t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    /// <summary>Order of creation: a save made later has a larger number.</summary>
    internal long Sequence { get; }

    /// <summary>The step being saved.</summary>
    public long Step { get; }

    /// <summary>The rank.</summary>
    public int Rank { get; }

    /// <summary>
    /// Completes when the rank's state is in host memory (faults as <see cref="Committed"/> does when the
    /// save ends first), or at once for a save that is skipped (<c>actorckpt.async.when-busy = skip</c>:
    /// nothing is copied, the training loop goes on, and <see cref="Committed"/> faults with <see cref="SaveSkippedException"/>).
    /// </summary>
    public Task Staged => _staged.Task;

    /// <summary>Completes when the checkpoint is committed.</summary>
    public Task<SaveResult> Committed => _committed.Task;

    /// <summary>Where the save stands: in flight, or how it ended.</summary>
    public SaveStatus Status => _committed.Task.Status switch
    {
        TaskStatus.RanToCompletion => SaveStatus.Committed,
        TaskStatus.Canceled => SaveStatus.Cancelled,
        TaskStatus.Faulted => SkipReason is null ? SaveStatus.Failed : SaveStatus.Skipped,
        _ => SaveStatus.InFlight,
    };

    /// <summary>True once the save is over: committed, failed, skipped or cancelled.</summary>
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
    /// written, on an actor's thread: handlers must be quick and must not block. A handler that
    /// throws does not affect the save, nor the other handlers; the rank logs a warning naming the
    /// first exception, once per save.
    /// </summary>
    public event Action<SaveHandle>? Progressed;

    /// <summary>Awaits <see cref="Committed"/>: <c>var result = await handle;</c>.</summary>
    public TaskAwaiter<SaveResult> GetAwaiter() => Committed.GetAwaiter();

    /// <summary>
    /// True while its caller has heard the save cancelled but its shard actor still waits for the
    /// planner's answers to it (see <see cref="ShardSave{TActor}.CancelGraceOver"/>).
    /// </summary>
    internal bool Lingering => Volatile.Read(ref _lingering) == 1;

    /// <summary>True while a shard actor still works on the save: in flight, or lingering after its caller heard it cancelled.</summary>
    internal bool Occupied => !IsFinished || Lingering;

    /// <summary>The shard actor goes on with the save after its caller heard it cancelled (<paramref name="on"/>), or is done with it.</summary>
    internal void Linger(bool on) => Volatile.Write(ref _lingering, on ? 1 : 0);

    /// <summary>True once cancellation was asked for (it takes effect unless the commit has begun).</summary>
    internal bool CancelRequested => Volatile.Read(ref _cancelRequested) == 1;

    /// <summary>Marks the save as cancelled by its caller's <paramref name="token"/>; true the first time.</summary>
    internal bool RequestCancel(CancellationToken token)
    {
        // The token first: whoever sees the flag set reads it.
        _cancelledBy = token;
        return Interlocked.Exchange(ref _cancelRequested, 1) == 0;
    }

    /// <summary>Ends the save as cancelled by its caller (its abort is over, or it never began).</summary>
    internal void Cancel()
    {
        _staged.TrySetCanceled(_cancelledBy);
        _committed.TrySetCanceled(_cancelledBy);
    }

    internal void SetBytesToWrite(long bytes)
    {
        Interlocked.Exchange(ref _bytesToWrite, bytes);
        Report();
    }

    internal void AddWritten(long bytes)
    {
        Interlocked.Add(ref _bytesWritten, bytes);
        Report();
    }

    /// <summary>
    /// The first exception a <see cref="Progressed"/> handler threw, the first time it is asked for
    /// (null after, and while none threw): for the rank's one warning.
    /// </summary>
    internal Exception? TakeHandlerFailure()
    {
        var failure = Volatile.Read(ref _handlerFailure);
        return failure is not null && Interlocked.Exchange(ref _handlerFailureTaken, 1) == 0 ? failure : null;
    }

    /// <summary>
    /// Tells every <see cref="Progressed"/> handler, each on its own: the caller's code runs on the
    /// shard actor's thread, and an exception out of it would restart the actor mid-save (its writes
    /// and buffers lost to it, the step left in flight until the write deadline).
    /// </summary>
    private void Report()
    {
        if (Progressed is not { } handlers) return;
        foreach (var handler in handlers.GetInvocationList())
        {
            try
            {
                ((Action<SaveHandle>)handler)(this);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _handlerFailure, e, null);
            }
        }
    }

    internal void SetStaged(long bytesCopied)
    {
        BytesStaged = bytesCopied;
        _stagedAfter = _clock.Elapsed;
        _staged.TrySetResult();
    }

    internal void SetCommitted(SaveSummary summary) =>
        _committed.TrySetResult(new SaveResult(summary.Step, Rank, summary.Files, summary.Bytes, BytesStaged, _stagedAfter, _clock.Elapsed));

    internal void Skip(string reason)
    {
        SkipReason = reason;
        _staged.TrySetResult();
        _committed.TrySetException(new SaveSkippedException(Step, reason));
    }

    /// <summary>Ends the save as failed with <paramref name="cause"/>.</summary>
    internal void Fail(Exception cause)
    {
        _staged.TrySetException(cause);
        _committed.TrySetException(cause);
    }
}

namespace ActorCkpt.Actors;

/// <summary>
/// Progress of one rank's save. <see cref="Staged"/> completes once the rank's tensors are copied
/// to host memory (the training loop may change them from then on); <see cref="Committed"/> once
/// the checkpoint is durable, or faults with <see cref="CheckpointFailedException"/>.
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
    }

    /// <summary>The step being saved.</summary>
    public long Step { get; }

    /// <summary>The rank.</summary>
    public int Rank { get; }

    /// <summary>Completes when the rank's state is in host memory.</summary>
    public Task Staged => _staged.Task;

    /// <summary>Completes when the checkpoint is committed.</summary>
    public Task<SaveSummary> Committed => _committed.Task;

    internal void SetStaged() => _staged.TrySetResult();

    internal void SetCommitted(SaveSummary summary) => _committed.TrySetResult(summary);

    internal void Fail(Exception cause)
    {
        _staged.TrySetException(cause);
        _committed.TrySetException(cause);
    }
}

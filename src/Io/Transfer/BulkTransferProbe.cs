namespace ActorCkpt;

/// <summary>
/// What the sending side of one transfer did, for the bench and for tests: bytes sent, and when it
/// first had to wait for the receiver's credit (the window was full).
/// </summary>
internal sealed class BulkTransferProbe
{
    private readonly TaskCompletionSource _firstCreditWait = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _bytesSent;

    /// <summary>Data bytes handed to the connection so far.</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    /// <summary>Completes the first time the sender waits for credit.</summary>
    public Task FirstCreditWait => _firstCreditWait.Task;

    /// <summary>When the first data byte was sent (a <see cref="System.Diagnostics.Stopwatch"/> timestamp; the same clock in every process of a machine).</summary>
    public long StartedAt { get; internal set; }

    /// <summary>When the receiver's <see cref="BulkFrameKind.Done"/> arrived (a <see cref="System.Diagnostics.Stopwatch"/> timestamp), or 0.</summary>
    public long EndedAt { get; internal set; }

    internal void Sent(int bytes) => Interlocked.Add(ref _bytesSent, bytes);

    internal void WaitingForCredit() => _firstCreditWait.TrySetResult();
}

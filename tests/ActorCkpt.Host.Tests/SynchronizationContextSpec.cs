namespace ActorCkpt.Host.Tests;

/// <summary>
/// <see cref="Checkpointer.Start(string)"/> called on a thread with a single-threaded synchronization
/// context (a UI thread's, say) that runs nothing while the thread waits: it must still return.
/// </summary>
public sealed class SynchronizationContextSpec : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    /// <summary>A context that keeps what is posted to it for a pump that never comes while its thread is blocked.</summary>
    private sealed class UnpumpedContext : SynchronizationContext
    {
        public int Posted;

        public override void Post(SendOrPostCallback d, object? state) => Interlocked.Increment(ref Posted);

        public override void Send(SendOrPostCallback d, object? state) => throw new NotSupportedException();
    }

    [Fact]
    public async Task Start_on_a_thread_whose_context_is_not_pumped_should_return_a_working_checkpointer()
    {
        var started = new TaskCompletionSource<Checkpointer>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            SynchronizationContext.SetSynchronizationContext(new UnpumpedContext());
            try
            {
                started.SetResult(Checkpointer.Start(Path.Combine(_temp.Path, "ckpt")));
            }
            catch (Exception e)
            {
                started.SetException(e);
            }
        }) { IsBackground = true };
        thread.Start();

        await using var ckpt = await started.Task.WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Null(await ckpt.GetLatestStepAsync());
    }
}

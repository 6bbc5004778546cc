namespace ActorCkpt.Io.Tests;

/// <summary>
/// Cancelling object-store requests run with retries (<see cref="ObjectRetries"/>): by default the
/// attempt under way is cancelled; with finishAttempt it runs to its answer and only the retries stop,
/// so a dropped upload never has a part still on its way when it is aborted.
/// </summary>
public class ObjectRetriesSpec
{
    private static readonly ObjectRetries Retries = new(new ObjectStoreOptions { Retries = 3, RetryBackoff = TimeSpan.FromMilliseconds(1) });

    [Fact]
    public async Task By_default_cancelling_should_cancel_the_attempt_under_way()
    {
        using var cancel = new CancellationTokenSource();
        var started = new TaskCompletionSource();
        var run = Retries.RunAsync("x", async c =>
        {
            started.SetResult();
            await Task.Delay(Timeout.Infinite, c);
            return 1;
        }, cancel.Token);
        await started.Task;
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
    }

    [Fact]
    public async Task With_finishAttempt_the_attempt_under_way_should_run_to_its_answer_with_its_token_untouched()
    {
        using var cancel = new CancellationTokenSource();
        var (started, answer) = (new TaskCompletionSource(), new TaskCompletionSource<int>());
        CancellationToken seen = default;
        var run = Retries.RunAsync("x", c =>
        {
            seen = c;
            started.SetResult();
            return answer.Task;
        }, cancel.Token, finishAttempt: true);
        await started.Task;
        cancel.Cancel();

        Assert.False(seen.IsCancellationRequested);
        Assert.False(run.IsCompleted);
        answer.SetResult(42);
        Assert.Equal(42, await run);
    }

    [Fact]
    public async Task With_finishAttempt_a_failure_after_the_cancel_should_not_be_retried()
    {
        using var cancel = new CancellationTokenSource();
        var attempts = 0;
        var run = Retries.RunAsync("x", _ =>
        {
            attempts++;
            cancel.Cancel();
            return Task.FromException<int>(new ObjectStoreException(ObjectErrorKind.Transient, "503"));
        }, cancel.Token, finishAttempt: true);

        await Assert.ThrowsAsync<ObjectStoreException>(() => run);
        Assert.Equal(1, attempts);
        // Cancelled before it starts: no attempt at all.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Retries.RunAsync("x", _ => { attempts++; return Task.FromResult(1); }, cancel.Token, finishAttempt: true));
        Assert.Equal(1, attempts);
    }

    [Fact]
    public async Task Each_retry_should_be_told_to_the_notices_saying_what_failed_and_which_retry_it_is()
    {
        var options = new ObjectStoreOptions { Retries = 2, RetryBackoff = TimeSpan.FromMilliseconds(1), RequestTimeout = TimeSpan.FromMilliseconds(200) };
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        options.Notices.Attach(lines.Enqueue);
        var attempts = 0;

        var answer = await new ObjectRetries(options with { Parallelism = 2 }).RunAsync("s3://b: k", async c =>
        {
            if (++attempts == 1) throw new ObjectStoreException(ObjectErrorKind.Throttled, "s3://b: k: 503 SlowDown");
            if (attempts == 2) await Task.Delay(Timeout.Infinite, c); // no answer: the request timeout ends it
            return 7;
        }, CancellationToken.None);

        // Copies made with `with` tell the same notices.
        Assert.Equal((7, 3), (answer, attempts));
        Assert.Equal(2, lines.Count);
        Assert.Matches(@"^s3://b: k: 503 SlowDown; sending it again in \d+(\.\d+)? s \(retry 1 of 2\)$", lines.First());
        Assert.Equal("s3://b: k: no answer within 0.2 s; sending it again (retry 2 of 2)", lines.Last());
    }
}

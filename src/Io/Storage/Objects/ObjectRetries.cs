namespace ActorCkpt;

/// <summary>
/// Runs object-store requests with the retries <see cref="ObjectStoreOptions"/> allow: failures a
/// retry may cure (<see cref="ObjectStoreException.IsRetryable"/>) wait <see cref="RetrySchedule"/>
/// and go again; the last failure, or one no retry cures, is thrown as it came.
/// </summary>
internal sealed class ObjectRetries(ObjectStoreOptions options)
{
    private readonly RetrySchedule _schedule = new(options.RetryBackoff, TimeSpan.FromSeconds(20));
    private long _retried;

    /// <summary>Requests sent again so far (all kinds), for tests and the bench.</summary>
    public long Retried => Interlocked.Read(ref _retried);

    /// <summary>
    /// Runs <paramref name="request"/> until it succeeds or the retries run out; <paramref name="what"/>
    /// names it in a timeout's message. <paramref name="cancel"/> stops it; with
    /// <paramref name="finishAttempt"/> it only stops the retries, and an attempt under way runs to its
    /// answer (or its request timeout): a cancelled request may still be carried out by the service,
    /// after its sender stopped waiting, and a part staged that way outlives the upload's abort.
    /// </summary>
    public async Task<T> RunAsync<T>(string what, Func<CancellationToken, Task<T>> request, CancellationToken cancel, bool finishAttempt = false)
    {
        for (var attempt = 1; ; attempt++)
        {
            // An attempt that will not be cancelled is not begun once the caller has given up.
            if (finishAttempt) cancel.ThrowIfCancellationRequested();
            using var timeout = finishAttempt ? new CancellationTokenSource() : CancellationTokenSource.CreateLinkedTokenSource(cancel);
            timeout.CancelAfter(options.RequestTimeout);
            try
            {
                return await request(timeout.Token).ConfigureAwait(false);
            }
            catch (ObjectStoreException e) when (e.IsRetryable && attempt <= options.Retries && !cancel.IsCancellationRequested)
            {
                Interlocked.Increment(ref _retried);
                var delay = _schedule.Delay(attempt, e, Random.Shared.NextDouble());
                options.Notices.Say($"{e.Message}; sending it again in {delay.TotalSeconds:0.###} s (retry {attempt} of {options.Retries})");
                await Task.Delay(delay, cancel).ConfigureAwait(false);
            }
            catch (OperationCanceledException e) when (timeout.IsCancellationRequested && !cancel.IsCancellationRequested)
            {
                // The request outlived RequestTimeout: a hung connection, retried like any transient failure.
                if (attempt > options.Retries)
                    throw new ObjectStoreException(ObjectErrorKind.Transient, $"{what}: no answer within {options.RequestTimeout.TotalSeconds:0.#} s, {attempt} times", inner: e);
                Interlocked.Increment(ref _retried);
                options.Notices.Say($"{what}: no answer within {options.RequestTimeout.TotalSeconds:0.#} s; sending it again (retry {attempt} of {options.Retries})");
            }
        }
    }

    /// <summary>One attempt of <paramref name="request"/>, cancelled after the request timeout; no retry.</summary>
    public async Task RunOnceAsync(Func<CancellationToken, Task> request)
    {
        using var timeout = new CancellationTokenSource(options.RequestTimeout);
        await request(timeout.Token).ConfigureAwait(false);
    }

    /// <summary><see cref="RunAsync{T}(string, Func{CancellationToken, Task{T}}, CancellationToken, bool)"/> for requests without a result.</summary>
    public Task RunAsync(string what, Func<CancellationToken, Task> request, CancellationToken cancel, bool finishAttempt = false) =>
        RunAsync(what, async c => { await request(c).ConfigureAwait(false); return true; }, cancel, finishAttempt);
}

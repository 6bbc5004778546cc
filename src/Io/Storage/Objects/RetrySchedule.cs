namespace ActorCkpt;

/// <summary>
/// How long to wait before retrying an object-store request: exponential backoff with full
/// jitter from <see cref="Base"/>, capped at <see cref="Cap"/>; a throttling answer waits at least
/// what it named (Retry-After), else four times the backoff (the service asked us to slow down,
/// and every writer of the job hears the same answer).
/// </summary>
internal sealed record RetrySchedule(TimeSpan Base, TimeSpan Cap)
{
    /// <summary>The wait before retry number <paramref name="attempt"/> (1 for the first) after <paramref name="failure"/>; <paramref name="jitter"/> in [0, 1).</summary>
    public TimeSpan Delay(int attempt, ObjectStoreException failure, double jitter)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attempt, 1);
        var exponent = Math.Min(attempt - 1, 20);
        var ceiling = Math.Min(Cap.TotalMilliseconds, Base.TotalMilliseconds * Math.Pow(2, exponent));
        // Full jitter keeps writers that failed together from retrying together; never below half.
        var backoff = TimeSpan.FromMilliseconds(ceiling * (0.5 + jitter / 2));
        if (failure.Kind != ObjectErrorKind.Throttled) return backoff;
        var slower = backoff * 4 > Cap ? Cap : backoff * 4;
        return failure.RetryAfter is { } named && named > slower ? named : slower;
    }
}

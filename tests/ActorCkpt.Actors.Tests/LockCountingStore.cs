namespace ActorCkpt.Actors.Tests;

/// <summary>A store that signals every attempt to take a lock, so a test can wait for the planner's retries.</summary>
internal sealed class LockCountingStore(IBlobStore inner) : DelegatingBlobStore(inner)
{
    private readonly SemaphoreSlim _attempts = new(0);
    private int _count;

    /// <summary>Lock attempts that have ended so far.</summary>
    public int Attempts => Volatile.Read(ref _count);

    public override IDisposable Lock(string path)
    {
        try
        {
            return base.Lock(path);
        }
        finally
        {
            Interlocked.Increment(ref _count);
            _attempts.Release();
        }
    }

    /// <summary>Completes once <paramref name="count"/> more lock attempts have ended.</summary>
    public async Task AttemptsAsync(int count, TimeSpan patience)
    {
        for (var i = 0; i < count; i++)
            Assert.True(await _attempts.WaitAsync(patience), $"only {i} of {count} lock attempts within {patience}");
    }
}

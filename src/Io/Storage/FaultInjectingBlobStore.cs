namespace ActorCkpt;

/// <summary>
/// Wraps a store and makes chosen file writes fail, for tests of retries and clean failure.
/// A failing write leaves a torn file behind: its first block of data lands, then the second
/// write (or the flush, whichever comes first) throws <see cref="InjectedFaultException"/>.
/// </summary>
internal sealed class FaultInjectingBlobStore(IBlobStore inner, FaultPolicy policy) : DelegatingBlobStore(inner)
{
    /// <summary>The policy in force (its counters tell how many writes were seen).</summary>
    public FaultPolicy Policy => policy;

    /// <inheritdoc />
    public override IBlobWriter Create(string path)
    {
        var writer = Inner.Create(path);
        return policy.ShouldFail(path, out var n) ? new TornWriter(writer, policy.Error(path, n)) : writer;
    }

    private sealed class TornWriter(IBlobWriter inner, Exception error) : IBlobWriter
    {
        private int _writes;

        public void Write(ReadOnlySpan<byte> data, long offset)
        {
            if (++_writes > 1) throw error;
            inner.Write(data, offset);
        }

        public void Flush() => throw error;

        public void Dispose() => inner.Dispose();
    }
}

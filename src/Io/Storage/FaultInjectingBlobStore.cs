namespace ActorCkpt.Io;

/// <summary>
/// Wraps a store and makes chosen file writes fail, for tests of retries and clean failure.
/// A failing write leaves a torn file behind: its first block of data lands, then the second
/// write (or the flush, whichever comes first) throws <see cref="InjectedFaultException"/>.
/// </summary>
public sealed class FaultInjectingBlobStore(IBlobStore inner, FaultPolicy policy) : IBlobStore
{
    /// <summary>The policy in force (its counters tell how many writes were seen).</summary>
    public FaultPolicy Policy => policy;

    /// <inheritdoc />
    public string Root => inner.Root;

    /// <inheritdoc />
    public IBlobWriter Create(string path)
    {
        var writer = inner.Create(path);
        return policy.ShouldFail(path, out var n) ? new TornWriter(writer, path, n) : writer;
    }

    /// <inheritdoc />
    public IBlobReader OpenRead(string path) => inner.OpenRead(path);

    /// <inheritdoc />
    public bool Exists(string path) => inner.Exists(path);

    /// <inheritdoc />
    public void Rename(string from, string to, bool overwrite) => inner.Rename(from, to, overwrite);

    /// <inheritdoc />
    public void SyncDirectory(string path) => inner.SyncDirectory(path);

    /// <inheritdoc />
    public void CreateDirectory(string path) => inner.CreateDirectory(path);

    /// <inheritdoc />
    public void DeleteDirectory(string path) => inner.DeleteDirectory(path);

    /// <inheritdoc />
    public IReadOnlyList<string> ListDirectories(string path) => inner.ListDirectories(path);

    private sealed class TornWriter(IBlobWriter inner, string path, int writeNumber) : IBlobWriter
    {
        private int _writes;

        public void Write(ReadOnlySpan<byte> data, long offset)
        {
            if (++_writes > 1) throw new InjectedFaultException(path, writeNumber);
            inner.Write(data, offset);
        }

        public void Flush() => throw new InjectedFaultException(path, writeNumber);

        public void Dispose() => inner.Dispose();
    }
}


namespace ActorCkpt.Actors.Tests;

/// <summary>
/// A store that counts the bytes read from data files and can hold those reads at a gate: every
/// read (<see cref="Hold.AllReads"/>), only the first (<see cref="Hold.FirstRead"/>), or make the
/// first one fail (<see cref="Hold.FailFirstRead"/>, after the gate).
/// </summary>
internal sealed class CountingReadStore(IBlobStore inner, GatedStore.Gate gate, CountingReadStore.Hold hold) : DelegatingBlobStore(inner)
{
    private long _bytesRead;
    private int _reads;

    public enum Hold
    {
        Nothing,
        AllReads,
        FirstRead,
        FailFirstRead,
    }

    /// <summary>Bytes read from data files since the start (or <see cref="Reset"/>).</summary>
    public long BytesRead => Interlocked.Read(ref _bytesRead);

    public void Reset() => Interlocked.Exchange(ref _bytesRead, 0);

    public override IBlobReader OpenRead(string path) =>
        path.EndsWith(".safetensors", StringComparison.Ordinal) ? new Counting(Inner.OpenRead(path), this) : Inner.OpenRead(path);

    private void Read(IBlobReader reader, Span<byte> buffer, long offset)
    {
        var first = Interlocked.Increment(ref _reads) == 1;
        if (hold == Hold.AllReads || (first && hold is Hold.FirstRead or Hold.FailFirstRead)) gate.Pass();
        if (first && hold == Hold.FailFirstRead) throw new IOException("injected: the first data read fails");
        reader.ReadExactly(buffer, offset);
        Interlocked.Add(ref _bytesRead, buffer.Length);
    }

    private sealed class Counting(IBlobReader inner, CountingReadStore store) : IBlobReader
    {
        public long Length => inner.Length;

        public int PreferredReadBytes => inner.PreferredReadBytes;

        public void ReadExactly(Span<byte> buffer, long offset) => store.Read(inner, buffer, offset);

        public void Dispose() => inner.Dispose();
    }
}

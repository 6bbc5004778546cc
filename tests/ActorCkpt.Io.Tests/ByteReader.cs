namespace ActorCkpt.Io.Tests;

/// <summary>A file in memory that records the largest read asked of it (a decoder that bounds lengths first never asks much of a hostile one) and how many reads were made.</summary>
internal sealed class ByteReader(byte[] bytes, long? length = null) : IBlobReader
{
    private int _reads;

    public long Length { get; } = length ?? bytes.Length;

    public int LargestRead { get; private set; }

    public int Reads => Volatile.Read(ref _reads);

    public void ReadExactly(Span<byte> buffer, long offset)
    {
        Interlocked.Increment(ref _reads);
        LargestRead = Math.Max(LargestRead, buffer.Length);
        if (offset < 0 || offset + buffer.Length > bytes.Length) throw new EndOfStreamException($"read {offset}+{buffer.Length} past {bytes.Length}");
        bytes.AsSpan((int)offset, buffer.Length).CopyTo(buffer);
    }

    public void Dispose()
    {
    }
}

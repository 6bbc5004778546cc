namespace ActorCkpt.Io.Tests;

/// <summary>A file in memory that records the largest read asked of it: a decoder that bounds lengths first never asks much of a hostile one.</summary>
internal sealed class ByteReader(byte[] bytes, long? length = null) : IBlobReader
{
    public long Length { get; } = length ?? bytes.Length;

    public int LargestRead { get; private set; }

    public void ReadExactly(Span<byte> buffer, long offset)
    {
        LargestRead = Math.Max(LargestRead, buffer.Length);
        if (offset < 0 || offset + buffer.Length > bytes.Length) throw new EndOfStreamException($"read {offset}+{buffer.Length} past {bytes.Length}");
        bytes.AsSpan((int)offset, buffer.Length).CopyTo(buffer);
    }

    public void Dispose()
    {
    }
}

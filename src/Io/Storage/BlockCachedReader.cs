using System.Collections.Concurrent;

namespace ActorCkpt;

/// <summary>
/// Serves many small reads of a file whose every read is a request (an object store's ranged GET)
/// from blocks of <c>blockBytes</c>, each fetched once, when first needed. Metadata opened by index
/// makes hundreds of reads of a few bytes to a few KiB: 268 ranged GETs, about 0.8 s, in one load
/// of a small checkpoint from Azurite; through this reader they are one GET per block touched. A
/// read of a block's size or more goes straight to the file. Safe for concurrent reads; the blocks
/// are held as long as the reader.
/// </summary>
internal sealed class BlockCachedReader(IBlobReader inner, int blockBytes) : IBlobReader
{
    // A block's fetch that failed stays failed: the inner reader has retried it already.
    private readonly ConcurrentDictionary<long, Lazy<byte[]>> _blocks = new();

    /// <inheritdoc />
    public long Length => inner.Length;

    /// <inheritdoc />
    public int PreferredReadBytes => inner.PreferredReadBytes;

    /// <summary>Blocks fetched so far.</summary>
    public int BlocksFetched => _blocks.Count;

    /// <inheritdoc />
    public void ReadExactly(Span<byte> buffer, long offset)
    {
        if (buffer.Length >= blockBytes || offset < 0 || offset > Length - buffer.Length)
        {
            // Large enough to be worth its own request, or out of range (the file says how).
            inner.ReadExactly(buffer, offset);
            return;
        }
        while (buffer.Length > 0)
        {
            var block = offset / blockBytes;
            var within = (int)(offset - block * blockBytes);
            var bytes = Block(block);
            var n = Math.Min(buffer.Length, bytes.Length - within);
            bytes.AsSpan(within, n).CopyTo(buffer);
            buffer = buffer[n..];
            offset += n;
        }
    }

    /// <inheritdoc />
    public void Dispose() => inner.Dispose();

    private byte[] Block(long block) =>
        _blocks.GetOrAdd(block, b => new Lazy<byte[]>(() =>
        {
            var start = b * blockBytes;
            var bytes = GC.AllocateUninitializedArray<byte>((int)Math.Min(blockBytes, Length - start));
            inner.ReadExactly(bytes, start);
            return bytes;
        })).Value;
}

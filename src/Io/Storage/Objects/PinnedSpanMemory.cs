using System.Buffers;

namespace ActorCkpt;

/// <summary>
/// A <see cref="Memory{T}"/> over bytes pinned by the caller (a span under <c>fixed</c>), so that
/// async reads land straight in a synchronous caller's span without a copy. Valid only while the
/// caller keeps the bytes pinned, that is, until it has waited for every read that uses it.
/// </summary>
internal sealed unsafe class PinnedSpanMemory(byte* pointer, int length) : MemoryManager<byte>
{
    /// <inheritdoc />
    public override Span<byte> GetSpan() => new(pointer, length);

    /// <inheritdoc />
    public override MemoryHandle Pin(int elementIndex = 0) => new(pointer + elementIndex);

    /// <inheritdoc />
    public override void Unpin()
    {
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
    }
}

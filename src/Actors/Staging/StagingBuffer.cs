using System.Buffers;
using System.Runtime.InteropServices;

namespace ActorCkpt;

/// <summary>
/// A page-aligned block of native host memory that a tensor is staged into. Writers read it by
/// reference (as <see cref="Memory{T}"/>); it goes back to its <see cref="StagingPool"/> for the
/// next save instead of being freed.
/// </summary>
public sealed unsafe class StagingBuffer : MemoryManager<byte>
{
    private const int Alignment = 4096;
    private byte* _pointer;

    internal StagingBuffer(int capacity)
    {
        Capacity = capacity;
        _pointer = capacity == 0 ? null : (byte*)NativeMemory.AlignedAlloc((nuint)capacity, Alignment);
    }

    /// <summary>Bytes the buffer can hold.</summary>
    public int Capacity { get; }

    /// <summary>The first <paramref name="length"/> bytes, for writing the staged tensor.</summary>
    public Span<byte> Span(int length) => GetSpan()[..length];

    /// <summary>The first <paramref name="length"/> bytes as memory, for handing to a writer.</summary>
    public ReadOnlyMemory<byte> Slice(int length) => Memory[..length];

    /// <inheritdoc />
    public override Span<byte> GetSpan() => new(_pointer, Capacity);

    /// <inheritdoc />
    public override MemoryHandle Pin(int elementIndex = 0) => new(_pointer + elementIndex);

    /// <inheritdoc />
    public override void Unpin() { }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (_pointer == null) return;
        NativeMemory.AlignedFree(_pointer);
        _pointer = null;
    }
}

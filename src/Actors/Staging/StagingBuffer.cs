using System.Buffers;
using System.Runtime.InteropServices;

namespace ActorCkpt;

/// <summary>
/// A page-aligned block of native host memory that a tensor is staged into. Writers read it by
/// reference (as <see cref="Memory{T}"/>); it goes back to its <see cref="StagingPool"/> for the
/// next save instead of being freed.
/// </summary>
internal sealed unsafe class StagingBuffer : MemoryManager<byte>, IHugePageMemory
{
    private const int Alignment = 4096;
    // Buffers of at least one huge page are mapped on their own and marked for transparent huge
    // pages (where the system leaves THP to madvise): a fresh buffer then faults 2 MiB at a time
    // instead of 4 KiB, which was most of what staging into fresh buffers cost (measured here:
    // 256 MiB staged in 1.1-2.3 s with 4 KiB faults, 0.05-0.7 s with huge pages), and the kernel's
    // first read of the pages when a writer writes them is as much cheaper.
    private const int HugePage = 2 << 20;
    private byte* _pointer;
    private readonly bool _mapped;

    internal StagingBuffer(int capacity)
    {
        Capacity = capacity;
        if (capacity == 0) return;
        if (OperatingSystem.IsLinux() && capacity >= HugePage && AnonymousMappings.Map((nuint)capacity, hugePages: true) is var p && p != null)
        {
            _pointer = p;
            _mapped = true;
            return;
        }
        _pointer = (byte*)NativeMemory.AlignedAlloc((nuint)capacity, Alignment);
    }

    /// <inheritdoc />
    public bool InHugePages => _mapped;

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
        if (_mapped) AnonymousMappings.Unmap(_pointer, (nuint)Capacity);
        else NativeMemory.AlignedFree(_pointer);
        _pointer = null;
    }
}

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
    private const int ProtRead = 1, ProtWrite = 2, MapPrivate = 2, MapAnonymous = 0x20, MadvHugePage = 14;
    private static readonly IntPtr MapFailed = new(-1);
    private byte* _pointer;
    private readonly bool _mapped;

    internal StagingBuffer(int capacity)
    {
        Capacity = capacity;
        if (capacity == 0) return;
        if (OperatingSystem.IsLinux() && capacity >= HugePage)
        {
            var p = Mmap(IntPtr.Zero, (nuint)capacity, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
            if (p != MapFailed)
            {
                _ = Madvise(p, (nuint)capacity, MadvHugePage);
                _pointer = (byte*)p;
                _mapped = true;
                return;
            }
        }
        _pointer = (byte*)NativeMemory.AlignedAlloc((nuint)capacity, Alignment);
    }

    [DllImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static extern IntPtr Mmap(IntPtr addr, nuint length, int prot, int flags, int fd, nint offset);

    [DllImport("libc", EntryPoint = "munmap", SetLastError = true)]
    private static extern int Munmap(IntPtr addr, nuint length);

    [DllImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static extern int Madvise(IntPtr addr, nuint length, int advice);

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
        if (_mapped) _ = Munmap((IntPtr)_pointer, (nuint)Capacity);
        else NativeMemory.AlignedFree(_pointer);
        _pointer = null;
    }
}

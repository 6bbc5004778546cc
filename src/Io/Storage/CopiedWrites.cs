using System.Buffers;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace ActorCkpt;

/// <summary>
/// Positional writes to a local file that copy the bytes into a pooled buffer and write from there,
/// at most <see cref="BufferBytes"/> at a time, unless the process goes straight (<see cref="KernelAccess"/>
/// says whether this machine needs the copy). On some hypervisors (these machines' PVM guests) the
/// kernel's first access to each page of a process's memory costs several microseconds even when
/// the process has touched the page, and the kernel's view stays warm for about 1 GiB of pages only:
/// writing 1 GiB of tensors straight to tmpfs took 0.9–2.2 s, the same bytes through a 1 MiB buffer
/// 0.15 s (docs/benchmarks.md, "Kernel access to process memory"). The copy is from memory the
/// process has touched (usually just hashed, so in the cache) into a buffer that stays in the cache.
/// </summary>
internal static class CopiedWrites
{
    /// <summary>The most bytes one write call copies and writes.</summary>
    public const int BufferBytes = 1 << 20;

    /// <summary>
    /// Writes <paramref name="data"/> at <paramref name="offset"/>: straight from it when its memory
    /// is in huge pages (<see cref="IHugePageMemory"/>, a staging buffer) or the process goes straight
    /// (<see cref="KernelAccess"/>), else through a pooled buffer.
    /// </summary>
    public static void Write(SafeFileHandle handle, ReadOnlyMemory<byte> data, long offset)
    {
        if (InHugePages(data)) RandomAccess.Write(handle, data.Span, offset);
        else Write(handle, data.Span, offset);
    }

    /// <summary>Whether <paramref name="data"/> lies in memory mapped in huge pages.</summary>
    internal static bool InHugePages(ReadOnlyMemory<byte> data) =>
        MemoryMarshal.TryGetMemoryManager(data, out MemoryManager<byte>? manager) && manager is IHugePageMemory { InHugePages: true };

    /// <summary>
    /// Writes <paramref name="data"/> at <paramref name="offset"/> of <paramref name="handle"/>'s file:
    /// through a pooled buffer, or straight when the process goes straight (<see cref="KernelAccess"/>).
    /// </summary>
    public static void Write(SafeFileHandle handle, ReadOnlySpan<byte> data, long offset) => Write(handle, data, offset, copy: !KernelAccess.Straight);

    /// <summary>Writes <paramref name="data"/> at <paramref name="offset"/>, through a pooled buffer when <paramref name="copy"/> is set, else straight.</summary>
    internal static void Write(SafeFileHandle handle, ReadOnlySpan<byte> data, long offset, bool copy)
    {
        if (data.IsEmpty) return;
        if (!copy)
        {
            RandomAccess.Write(handle, data, offset);
            return;
        }
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(BufferBytes, data.Length));
        try
        {
            for (var at = 0; at < data.Length; at += buffer.Length)
            {
                var piece = buffer.AsSpan(0, Math.Min(buffer.Length, data.Length - at));
                data.Slice(at, piece.Length).CopyTo(piece);
                RandomAccess.Write(handle, piece, offset + at);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

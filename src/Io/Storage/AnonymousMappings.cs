using System.Runtime.InteropServices;

namespace ActorCkpt;

/// <summary>
/// Private anonymous memory mapped on its own (Linux mmap), advised into huge pages or kept in
/// small ones: staging buffers (<c>StagingBuffer</c>) and the kernel-access probe (<see cref="KernelAccess"/>).
/// </summary>
internal static class AnonymousMappings
{
    private const int ProtRead = 1, ProtWrite = 2, MapPrivate = 2, MapAnonymous = 0x20, MadvHugePage = 14, MadvNoHugePage = 15;
    private static readonly IntPtr MapFailed = new(-1);

    /// <summary>
    /// Maps <paramref name="length"/> bytes readable and writable, in transparent huge pages when
    /// <paramref name="hugePages"/> (where the system leaves THP to madvise) or never in them; null when mmap failed.
    /// </summary>
    public static unsafe byte* Map(nuint length, bool hugePages)
    {
        var p = Mmap(IntPtr.Zero, length, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
        if (p == MapFailed) return null;
        _ = Madvise(p, length, hugePages ? MadvHugePage : MadvNoHugePage);
        return (byte*)p;
    }

    /// <summary>Unmaps what <see cref="Map"/> mapped.</summary>
    public static unsafe void Unmap(byte* pointer, nuint length) => _ = Munmap((IntPtr)pointer, length);

    [DllImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static extern IntPtr Mmap(IntPtr addr, nuint length, int prot, int flags, int fd, nint offset);

    [DllImport("libc", EntryPoint = "munmap", SetLastError = true)]
    private static extern int Munmap(IntPtr addr, nuint length);

    [DllImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static extern int Madvise(IntPtr addr, nuint length, int advice);
}

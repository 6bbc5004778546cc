using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace ActorCkpt.Cli.Bench;

/// <summary>
/// Drops files from the Linux page cache (posix_fadvise DONTNEED), so a benchmark can read them
/// cold without the root-only /proc/sys/vm/drop_caches. Pages written but not yet on disk stay
/// (<see cref="FlushAll"/> writes them).
/// </summary>
internal static partial class PageCache
{
    private const int DontNeed = 4;

    /// <summary>Drops every file of <paramref name="directory"/> from the page cache.</summary>
    public static void Drop(string directory)
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("dropping files from the page cache needs Linux's posix_fadvise");
        foreach (var path in Directory.EnumerateFiles(directory))
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
            var error = PosixFadvise(handle, 0, 0, DontNeed);
            if (error != 0) throw new IOException($"posix_fadvise(DONTNEED) on '{path}' failed with error {error}");
        }
    }

    /// <summary>Has the kernel write every dirty page of the machine to disk (sync(2)), another process's too.</summary>
    public static void FlushAll()
    {
        if (OperatingSystem.IsLinux()) Sync();
    }

    [LibraryImport("libc", EntryPoint = "sync")]
    private static partial void Sync();

    [LibraryImport("libc", EntryPoint = "posix_fadvise")]
    private static partial int PosixFadvise(SafeFileHandle fd, long offset, long length, int advice);
}

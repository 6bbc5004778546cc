using System.Runtime.InteropServices;

namespace ActorCkpt;

/// <summary>
/// The renames that commit things (a step's metadata, an output folder) and the fsync of a folder
/// that makes them durable. On Linux renameat2(2): RENAME_NOREPLACE, so a file or folder that
/// appeared meanwhile (another process committing the same step) is never replaced, and
/// RENAME_EXCHANGE, which swaps two folders in one atomic step. Elsewhere .NET's move, which also
/// refuses an existing target (after a check, not atomically), and no exchange.
/// </summary>
internal static class AtomicRename
{
    /// <summary>Renames file or folder <paramref name="from"/> to <paramref name="to"/>; throws <see cref="IOException"/> when <paramref name="to"/> exists.</summary>
    public static void NoReplace(string from, string to)
    {
        if (OperatingSystem.IsLinux())
        {
            try
            {
                if (Native.renameat2(Native.AtFdCwd, from, Native.AtFdCwd, to, Native.RenameNoReplace) == 0) return;
                var errno = Marshal.GetLastPInvokeError();
                if (errno is not (Native.Einval or Native.Enosys))
                    throw new IOException($"cannot rename '{from}' to '{to}' ({Describe(errno)})", errno);
            }
            catch (EntryPointNotFoundException)
            {
                // A C library without renameat2: .NET's move below checks for the target first.
            }
        }
        if (File.Exists(from)) File.Move(from, to, overwrite: false);
        else Directory.Move(from, to);
    }

    /// <summary>
    /// Swaps folders <paramref name="a"/> and <paramref name="b"/> atomically; false when this system
    /// or file system cannot (not Linux, an old kernel, NFS), and nothing changed.
    /// </summary>
    public static bool TryExchange(string a, string b)
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            if (Native.renameat2(Native.AtFdCwd, a, Native.AtFdCwd, b, Native.RenameExchange) == 0) return true;
        }
        catch (EntryPointNotFoundException)
        {
            return false;
        }
        var errno = Marshal.GetLastPInvokeError();
        if (errno is Native.Einval or Native.Enosys) return false;
        throw new IOException($"cannot swap '{a}' and '{b}' ({Describe(errno)})", errno);
    }

    /// <summary>Makes the entries of <paramref name="directory"/> durable (fsync of the folder itself, which POSIX needs for creates and renames in it).</summary>
    public static void Sync(string directory)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;
        var fd = Native.open(directory, 0 /* O_RDONLY */);
        if (fd < 0) throw new IOException($"cannot open folder '{directory}' to fsync it: {ErrnoText.Of(Marshal.GetLastPInvokeError())}");
        try
        {
            if (Native.fsync(fd) != 0)
                throw new IOException($"fsync of folder '{directory}' failed: {ErrnoText.Of(Marshal.GetLastPInvokeError())}");
        }
        finally
        {
            Native.close(fd);
        }
    }

    private static string Describe(int errno) => errno switch
    {
        Native.Eexist or Native.Enotempty => "it exists",
        Native.Ebusy => "a mount point or in use: give a folder inside it",
        Native.Exdev => "a different file system",
        Native.Eacces or Native.Eperm => "access denied",
        _ => ErrnoText.Of(errno),
    };

    private static class Native
    {
        public const int AtFdCwd = -100;
        public const uint RenameNoReplace = 1;
        public const uint RenameExchange = 2;
        public const int Eperm = 1;
        public const int Eacces = 13;
        public const int Ebusy = 16;
        public const int Eexist = 17;
        public const int Exdev = 18;
        public const int Einval = 22;
        public const int Enosys = 38;
        public const int Enotempty = 39;

        [DllImport("libc", SetLastError = true)]
        public static extern int renameat2(int olddirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string oldpath,
            int newdirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string newpath, uint flags);

        [DllImport("libc", SetLastError = true)]
        public static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", SetLastError = true)]
        public static extern int fsync(int fd);

        [DllImport("libc", SetLastError = true)]
        public static extern int close(int fd);
    }
}

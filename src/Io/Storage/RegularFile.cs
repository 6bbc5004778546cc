using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace ActorCkpt;

/// <summary>
/// Opens files that other programs may have put in place of ours, as regular files only. .NET's
/// open blocks on a FIFO until a writer comes (forever, for a FIFO nobody writes) and happily
/// opens devices and follows links, and <see cref="FileSystemInfo"/> cannot tell a FIFO from a
/// file. So on Linux the type is read with lstat (statx, whose layout is the same on every
/// architecture) before anything is opened, which never has side effects; the open itself is
/// non-blocking and does not follow a link, and the opened descriptor is checked again, so a file
/// swapped in between is refused too. Elsewhere it falls back to .NET's open.
/// </summary>
internal static class RegularFile
{
    /// <summary>
    /// Opens <paramref name="path"/> (absolute) for reading. Throws <see cref="NotARegularFileException"/>
    /// at once for anything but a regular file (a link included), <see cref="FileNotFoundException"/>
    /// when nothing is there, <see cref="UnauthorizedAccessException"/> when access is denied.
    /// </summary>
    public static SafeFileHandle OpenRead(string path) =>
        OperatingSystem.IsLinux() ? Open(path, Native.ORdOnly) : File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);

    /// <summary>
    /// Opens the existing file <paramref name="path"/> (absolute) for writing in place, refusing
    /// anything but a regular file as <see cref="OpenRead"/> does; nothing is truncated.
    /// </summary>
    public static SafeFileHandle OpenWrite(string path) =>
        OperatingSystem.IsLinux() ? Open(path, Native.OWrOnly) : File.OpenHandle(path, FileMode.Open, FileAccess.Write, FileShare.Read);

    /// <summary>Opens the regular file at <paramref name="path"/> with <paramref name="access"/> (O_RDONLY or O_WRONLY), never through a link, never waiting on a FIFO.</summary>
    private static SafeFileHandle Open(string path, int access)
    {
        var kind = Kind(path);
        if (kind != FileKind.Regular) throw kind == FileKind.Missing ? Missing(path) : new NotARegularFileException(path, kind);
        var fd = Native.open(path, access | Native.ONonBlock | Native.OCloExec | NoFollow);
        if (fd < 0) throw Error(path, Marshal.GetLastPInvokeError());
        var handle = new SafeFileHandle((IntPtr)fd, ownsHandle: true);
        try
        {
            // O_NONBLOCK changes nothing for a regular file; it only kept the open from waiting on a FIFO.
            kind = Stat(path, fd, "", Native.AtEmptyPath);
            if (kind != FileKind.Regular) throw new NotARegularFileException(path, kind);
            return handle;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The absolute path the file <paramref name="path"/> leads to, for a file a user names (a
    /// <c>--config</c>, an options' <c>HoconFile</c>, an <c>--index-from</c>): it may be a link (a
    /// dotfile, a Kubernetes ConfigMap's file), followed to the end, and what it leads to must still
    /// be a regular file. Inside a checkpoint root no link is followed.
    /// </summary>
    public static string Followed(string path)
    {
        var full = Path.GetFullPath(path);
        return File.ResolveLinkTarget(full, returnFinalTarget: true)?.FullName ?? full;
    }

    /// <summary>
    /// What is at <paramref name="path"/>, a link not followed; <see cref="FileKind.Missing"/> when
    /// nothing is. Off Linux, a regular file for any file .NET sees.
    /// </summary>
    public static FileKind Kind(string path)
    {
        if (!OperatingSystem.IsLinux())
            return new FileInfo(path) is { Exists: true } f ? f.LinkTarget is null ? FileKind.Regular : FileKind.SymbolicLink
                : Directory.Exists(path) ? FileKind.Directory : FileKind.Missing;
        try
        {
            return Stat(path, Native.AtFdCwd, path, Native.AtSymlinkNoFollow);
        }
        catch (FileNotFoundException)
        {
            return FileKind.Missing;
        }
    }

    /// <summary>
    /// The bytes of file <paramref name="path"/> (absolute), refused before it is read when it is not
    /// a regular file or holds more than <paramref name="maxBytes"/> bytes (<paramref name="what"/>
    /// names the kind of file for that message). For files read whole: indexes, configuration.
    /// </summary>
    public static byte[] ReadAllBytes(string path, long maxBytes, string what)
    {
        using var handle = OpenRead(path);
        var length = RandomAccess.GetLength(handle);
        CheckSize(path, length, maxBytes, what);
        var bytes = new byte[length];
        var read = 0;
        while (read < bytes.Length)
        {
            var n = RandomAccess.Read(handle, bytes.AsSpan(read), read);
            if (n == 0) throw new EndOfStreamException($"'{path}' ended at byte {read} while it was read; it holds {length} bytes");
            read += n;
        }
        return bytes;
    }

    /// <summary>The text of file <paramref name="path"/>, as <see cref="ReadAllBytes"/> reads it (UTF-8, or as its byte order mark says).</summary>
    public static string ReadAllText(string path, long maxBytes, string what)
    {
        using var reader = new StreamReader(new MemoryStream(ReadAllBytes(path, maxBytes, what)), detectEncodingFromByteOrderMarks: true);
        return reader.ReadToEnd();
    }

    /// <summary>
    /// Refuses a file of <paramref name="length"/> bytes over <paramref name="maxBytes"/> (or over
    /// what one array holds, whatever the bound) before a byte of it is read.
    /// </summary>
    public static void CheckSize(string path, long length, long maxBytes, string what)
    {
        var bound = Math.Min(maxBytes, Array.MaxLength);
        if (length > bound)
            throw new CheckpointFormatException(path, $"is {length} bytes, over the {bound} bytes allowed for {what}: refused before reading it");
    }

    /// <summary>The kind of file at <paramref name="path"/> or descriptor <paramref name="dirfd"/> (by statx).</summary>
    private static FileKind Stat(string path, int dirfd, string name, int flags)
    {
        var buffer = new byte[Native.StatxSize];
        if (Native.statx(dirfd, name, flags, Native.StatxType, buffer) != 0) throw Error(path, Marshal.GetLastPInvokeError());
        return (BitConverter.ToUInt16(buffer, Native.StatxModeOffset) & Native.SIfMt) switch
        {
            Native.SIfReg => FileKind.Regular,
            Native.SIfDir => FileKind.Directory,
            Native.SIfLnk => FileKind.SymbolicLink,
            Native.SIfIfo => FileKind.Fifo,
            Native.SIfChr => FileKind.CharacterDevice,
            Native.SIfBlk => FileKind.BlockDevice,
            Native.SIfSock => FileKind.Socket,
            _ => FileKind.Unknown,
        };
    }

    private static FileNotFoundException Missing(string path) => new($"Could not find file '{path}'.", path);

    /// <summary>The exception .NET would give for <paramref name="errno"/>, so callers' filters keep working; HResult is the errno, as .NET sets it.</summary>
    private static Exception Error(string path, int errno) => errno switch
    {
        Native.Enoent or Native.Enotdir => Missing(path),
        Native.Eacces or Native.Eperm => new UnauthorizedAccessException($"Access to the path '{path}' is denied."),
        Native.Eloop => new NotARegularFileException(path, FileKind.SymbolicLink),
        _ => new IOException($"cannot open '{path}': {ErrnoText.Of(errno)}", errno),
    };

    /// <summary>O_NOFOLLOW, whose value differs between architectures; 0 where unknown (the lstat before the open still refuses a link).</summary>
    private static int NoFollow => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 or Architecture.X86 => 0x20000,
        Architecture.Arm64 or Architecture.Arm => 0x8000,
        _ => 0,
    };

    private static class Native
    {
        public const int ORdOnly = 0;
        public const int OWrOnly = 1;
        public const int ONonBlock = 0x800;
        public const int OCloExec = 0x80000;
        public const int AtFdCwd = -100;
        public const int AtSymlinkNoFollow = 0x100;
        public const int AtEmptyPath = 0x1000;
        public const uint StatxType = 0x1;

        // struct statx is 256 bytes; stx_mode is the __u16 at byte 28 on every architecture.
        public const int StatxSize = 256;
        public const int StatxModeOffset = 28;

        public const int SIfMt = 0xF000;
        public const int SIfIfo = 0x1000;
        public const int SIfChr = 0x2000;
        public const int SIfDir = 0x4000;
        public const int SIfBlk = 0x6000;
        public const int SIfReg = 0x8000;
        public const int SIfLnk = 0xA000;
        public const int SIfSock = 0xC000;

        public const int Eperm = 1;
        public const int Enoent = 2;
        public const int Eacces = 13;
        public const int Enotdir = 20;
        public const int Eloop = 40;

        [DllImport("libc", SetLastError = true)]
        public static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", SetLastError = true)]
        public static extern int statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte[] buffer);
    }
}

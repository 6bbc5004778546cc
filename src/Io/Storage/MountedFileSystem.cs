using System.Runtime.InteropServices;

namespace ActorCkpt;

/// <summary>
/// The file system a directory is on: its type from statfs(2)'s f_type (tmpfs, ext4, xfs,
/// overlay, …) and the device of its mount from /proc/self/mountinfo, so that a bench figure says
/// whether it measured memory or a disk; and its size and use from the same statfs, so that a
/// tmpfs replica store can size its budget and show what an eviction freed.
/// </summary>
/// <param name="Type">The file system type, or its magic number in hex when it is not a known one.</param>
/// <param name="Device">The mount's source (a block device, "tmpfs", "overlay", …), or "" when not found.</param>
/// <param name="SizeBytes">Its size (f_blocks × f_frsize); 0 off Linux.</param>
/// <param name="FreeBytes">What an unprivileged process may still write (f_bavail × f_frsize); 0 off Linux.</param>
/// <param name="UsedBytes">What is in use (f_blocks − f_bfree, × f_frsize): on tmpfs, the pages its files hold; 0 off Linux.</param>
internal sealed partial record MountedFileSystem(string Type, string Device, long SizeBytes = 0, long FreeBytes = 0, long UsedBytes = 0)
{
    private static readonly Dictionary<long, string> Magic = new()
    {
        [0x01021994] = "tmpfs", [0x858458f6] = "ramfs", [0xEF53] = "ext2/3/4", [0x58465342] = "xfs",
        [0x794c7630] = "overlay", [0x9123683E] = "btrfs", [0x2FC12FC1] = "zfs", [0xF2F52010] = "f2fs",
        [0x6969] = "nfs", [0xFF534D42] = "cifs", [0xFE534D42] = "smb2", [0x65735546] = "fuse",
        [0x00C36400] = "ceph", [0x0BD00BD0] = "lustre", [0x47504653] = "gpfs",
    };

    /// <summary>Whether writes only copy into memory (nothing below to fsync to): tmpfs and ramfs.</summary>
    public bool IsMemory => Type is "tmpfs" or "ramfs";

    /// <summary>The file system of <paramref name="directory"/>, which must exist.</summary>
    public static unsafe MountedFileSystem Of(string directory)
    {
        if (!OperatingSystem.IsLinux()) return new("unknown", "");
        // struct statfs on every 64-bit Linux is longs: f_type, f_bsize, f_blocks, f_bfree, f_bavail,
        // f_files, f_ffree, f_fsid (two ints), f_namelen, f_frsize, …; 256 bytes hold all of it.
        var buffer = stackalloc long[32];
        if (StatFs(directory, buffer) != 0) throw new IOException($"statfs('{directory}') failed with error {Marshal.GetLastPInvokeError()}");
        // statfs follows links: so must the mount table's lookup, or a linked directory is named by the link's mount.
        var (source, mountType) = Mount(RealPath(directory) ?? Path.GetFullPath(directory));
        // ext2, ext3 and ext4 share one magic number: the mount table tells them apart.
        var type = buffer[0] == 0xEF53 && mountType.StartsWith("ext", StringComparison.Ordinal) ? mountType
            : Magic.TryGetValue(buffer[0], out var name) ? name : $"0x{buffer[0]:x}";
        // f_frsize is the unit of the block counts; 0 on kernels too old to set it, where f_bsize is.
        var unit = buffer[9] > 0 ? buffer[9] : buffer[1];
        return new(type, source, buffer[2] * unit, buffer[4] * unit, (buffer[2] - buffer[3]) * unit);
    }

    /// <summary>The source and type of the mount holding <paramref name="path"/>: the mount point that is its longest prefix (the last mounted of equal ones).</summary>
    private static (string Source, string Type) Mount(string path)
    {
        var best = (Length: -1, Source: "", Type: "");
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            // "36 35 98:0 /root /mnt rw,noatime master:1 - ext4 /dev/vda rw": field 5 is the mount
            // point (spaces escaped as \040), and the source follows the fs type after " - ".
            var fields = line.Split(' ');
            var dash = Array.IndexOf(fields, "-");
            if (fields.Length < 5 || dash < 0 || dash + 2 >= fields.Length) continue;
            var point = fields[4].Replace("\\040", " ");
            var under = point == "/" || path == point || path.StartsWith(point + "/", StringComparison.Ordinal);
            if (under && point.Length >= best.Length) best = (point.Length, fields[dash + 2], fields[dash + 1]);
        }
        return (best.Source, best.Type);
    }

    /// <summary><paramref name="path"/> with every link in it resolved (realpath(3)), or null when it cannot be.</summary>
    private static unsafe string? RealPath(string path)
    {
        var resolved = RealPathNative(path, IntPtr.Zero);
        if (resolved == IntPtr.Zero) return null;
        try
        {
            return Marshal.PtrToStringUTF8(resolved);
        }
        finally
        {
            // realpath(3) allocated it with malloc.
            NativeMemory.Free((void*)resolved);
        }
    }

    [LibraryImport("libc", EntryPoint = "statfs", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static unsafe partial int StatFs(string path, long* buffer);

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr RealPathNative(string path, IntPtr resolved);
}

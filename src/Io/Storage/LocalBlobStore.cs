using Microsoft.Win32.SafeHandles;

namespace ActorCkpt;

/// <summary>
/// <see cref="IBlobStore"/> on a local (or mounted shared) file system. Writes go through
/// <see cref="RandomAccess"/> from a pooled buffer (<see cref="CopiedWrites"/>); flush is fsync;
/// renames and new directories are made durable by fsyncing their parent directory, which POSIX
/// needs for a rename to survive a crash.
/// </summary>
internal sealed class LocalBlobStore : IBlobStore
{
    // A checkpoint root: removed while in use, it is not made again by a save (see CreateDirectory).
    private readonly bool _rootStays;

    /// <summary>
    /// Creates the store over <paramref name="root"/>, creating the directory when missing; a file or
    /// special file there is refused naming it. A <paramref name="checkpointRoot"/> is not made again
    /// once removed: a save then fails saying the root is gone.
    /// </summary>
    public LocalBlobStore(string root, bool checkpointRoot = false)
    {
        _rootStays = checkpointRoot;
        // "/ckpt/run/" names the same root as "/ckpt/run": without the trailing separator, every path under it checks as inside.
        Root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        if (!Directory.Exists(Root) && LocalRoot.Problem(Root) is { } problem && RegularFile.Kind(Root) != FileKind.Missing)
            throw new IOException("checkpoint root " + problem);
        try
        {
            Directory.CreateDirectory(Root);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"checkpoint root '{Root}' cannot be made: {e.Message}", e);
        }
    }

    /// <inheritdoc />
    public string Root { get; }

    /// <inheritdoc />
    /// <remarks>
    /// Refuses at once (<see cref="NotARegularFileException"/>) a FIFO, socket or device in the file's place:
    /// the open would wait on a FIFO until a reader came, for good when none does.
    /// </remarks>
    public IBlobWriter Create(string path)
    {
        var full = Full(path);
        if (RegularFile.Kind(full) is not (FileKind.Regular or FileKind.Missing) and var kind) throw new NotARegularFileException(full, kind);
        return new Writer(File.OpenHandle(full, FileMode.Create, FileAccess.Write, FileShare.Read));
    }

    /// <inheritdoc />
    /// <remarks>Regular files only, refused without waiting (<see cref="RegularFile.OpenRead"/>): a FIFO put in place of a file would block the read forever.</remarks>
    public IBlobReader OpenRead(string path) => new Reader(RegularFile.OpenRead(Full(path)), path);

    /// <inheritdoc />
    public bool Exists(string path) => File.Exists(Full(path));

    /// <inheritdoc />
    /// <remarks>A link at <paramref name="path"/> itself is an answer (false), not a path through a link (refused).</remarks>
    public bool IsRegularFile(string path) => RegularFile.Kind(Full(path, linkAtEnd: true)) == FileKind.Regular;

    /// <inheritdoc />
    public void Rename(string from, string to, bool overwrite)
    {
        // rename(2) replaces a link at the target itself and never follows it: one put in the place
        // of a file of ours ('latest') is replaced, as a FIFO there is, and what it names is untouched.
        var target = Full(to, linkAtEnd: true);
        if (overwrite) File.Move(Full(from), target, overwrite: true);
        else AtomicRename.NoReplace(Full(from), target);
        AtomicRename.Sync(Path.GetDirectoryName(target)!);
    }

    /// <inheritdoc />
    public void SyncDirectory(string path) => AtomicRename.Sync(Full(path));

    /// <inheritdoc />
    public void CreateDirectory(string path)
    {
        var full = Full(path);
        if (Directory.Exists(full)) return;
        // mkdir -p would make a removed root again, empty: the job's saves would go on into a root with
        // no catalog and no earlier steps, and the planner fail later on an empty catalog.
        if (_rootStays && !Directory.Exists(Root))
            throw new DirectoryNotFoundException($"the checkpoint root '{Root}' is gone: it was removed while in use, and is not made again");
        Directory.CreateDirectory(full);
        AtomicRename.Sync(Path.GetDirectoryName(full)!);
    }

    /// <inheritdoc />
    public void DeleteFile(string path) => File.Delete(Full(path));

    /// <inheritdoc />
    public void DeleteDirectory(string path)
    {
        var full = Full(path);
        if (!Directory.Exists(full)) return;
        Directory.Delete(full, recursive: true);
        AtomicRename.Sync(Path.GetDirectoryName(full)!);
    }

    /// <inheritdoc />
    public IReadOnlyList<string> ListDirectories(string path)
    {
        var full = Full(path);
        return Directory.Exists(full)
            ? Directory.GetDirectories(full).Select(Path.GetFileName).OfType<string>().OrderBy(n => n, StringComparer.Ordinal).ToArray()
            : Array.Empty<string>();
    }

    // EWOULDBLOCK, flock(2)'s refusal of a lock another open file holds: .NET gives the errno as the HResult.
    private static readonly int FlockRefused = OperatingSystem.IsMacOS() ? 35 : 11;

    /// <inheritdoc />
    /// <remarks>
    /// .NET takes an advisory flock(2) for <see cref="FileShare.None"/> on Unix; the kernel drops it
    /// when the process dies, so a killed holder never leaves a stale lock behind. flock also refuses
    /// anyone else's open of the locked file, so the holder records itself in a file beside it
    /// (<see cref="CheckpointLayout.LockHolderFile"/>, replaced by a rename: never read half
    /// written), which a refused caller reads to name it (<see cref="LockHeldException"/>).
    /// </remarks>
    public IDisposable Lock(string path)
    {
        FileStream locked;
        try
        {
            locked = new FileStream(Full(path), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        // Only flock(2)'s refusal is another holder: a name too long, or any other failure, is that failure, not a lock held.
        catch (IOException e) when (e.HResult == FlockRefused)
        {
            throw new LockHeldException(Full(path), ReadHolder(path), e);
        }
        string holder = "";
        try
        {
            // A link left in the record's place is replaced by the rename, never followed.
            holder = Full(CheckpointLayout.LockHolderFile(path), linkAtEnd: true);
            if (RegularFile.Kind(holder) == FileKind.Directory)
                throw new IOException($"'{holder}' is a directory where the lock's holder record goes: remove it");
            var temp = $"{holder}.{Environment.ProcessId}.tmp";
            File.WriteAllText(temp, LockHolder.Current().ToJson());
            File.Move(temp, holder, overwrite: true);
        }
        catch (IOException e) when (StorageErrors.IsDiskFull(e))
        {
            // The record only names the holder to those refused; a full disk must not keep the root
            // from being opened (a planner restarting after a save filled it is what frees the
            // space). Deleting needs no space: no stale record names someone else.
            TryDelete($"{holder}.{Environment.ProcessId}.tmp");
            TryDelete(holder);
        }
        catch
        {
            locked.Dispose();
            throw;
        }
        return new HeldLock(locked, holder);
    }

    /// <summary>Deletes a holder record when it can; one left behind is replaced by the next holder, and until then a refused caller may name a stale one.</summary>
    private static void TryDelete(string file) => LocalFiles.TryDelete(file);

    /// <summary>The largest lock holder record read (a real one is a line of JSON).</summary>
    private const long MaxHolderBytes = 64 << 10;

    /// <summary>The holder recorded beside lock file <paramref name="path"/>, or null when there is none that parses.</summary>
    private LockHolder? ReadHolder(string path)
    {
        try
        {
            // A FIFO put there would block the read forever: read as any file in a root is.
            return LockHolder.Parse(RegularFile.ReadAllText(Full(CheckpointLayout.LockHolderFile(path), linkAtEnd: true), MaxHolderBytes, "a lock holder record"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CheckpointFormatException)
        {
            return null;
        }
    }

    /// <summary>
    /// The absolute path of <paramref name="path"/>; refuses any path that leads outside the root,
    /// by its name or through a symbolic link below the root (the root itself may be a link).
    /// With <paramref name="linkAtEnd"/>, the last name may be a link: for looking at it (lstat), never through it.
    /// </summary>
    private string Full(string path, bool linkAtEnd = false)
    {
        if (path.Length == 0) return Root;
        var full = Path.GetFullPath(Path.Combine(Root, path));
        if (!full.StartsWith(Root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new UnauthorizedAccessException($"'{path}' leads outside the checkpoint directory '{Root}'");
        for (var at = linkAtEnd ? Path.GetDirectoryName(full)! : full; at.Length > Root.Length; at = Path.GetDirectoryName(at)!)
        {
            if (new FileInfo(at).LinkTarget is { } target)
                throw new UnauthorizedAccessException($"'{path}' in '{Root}' goes through the symbolic link '{at}' (to '{target}'): links are refused so that nothing outside the checkpoint directory is read or written");
        }
        return full;
    }

    /// <summary>A lock taken: releasing it removes the holder's record first, so no one is ever named who no longer holds it.</summary>
    private sealed class HeldLock(FileStream locked, string holderFile) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) != 0) return;
            // The record only names the holder; one left behind is replaced by the next holder.
            TryDelete(holderFile);
            locked.Dispose();
        }
    }

    /// <summary>Writes through a pooled buffer, or straight from huge pages (<see cref="CopiedWrites"/>); flush is fsync.</summary>
    private sealed class Writer(SafeFileHandle handle) : IBlobWriter
    {
        public void Write(ReadOnlySpan<byte> data, long offset) => CopiedWrites.Write(handle, data, offset);

        public void WriteLent(ReadOnlyMemory<byte> data, long offset) => CopiedWrites.Write(handle, data, offset);

        public void Flush() => RandomAccess.FlushToDisk(handle);

        public void Dispose() => handle.Dispose();
    }

    private sealed class Reader(SafeFileHandle handle, string path) : IBlobReader
    {
        public long Length { get; } = RandomAccess.GetLength(handle);

        public void ReadExactly(Span<byte> buffer, long offset)
        {
            while (buffer.Length > 0)
            {
                var n = RandomAccess.Read(handle, buffer, offset);
                if (n == 0) throw new EndOfStreamException($"'{path}' ends at byte {offset}, before the range read");
                buffer = buffer[n..];
                offset += n;
            }
        }

        public void Dispose() => handle.Dispose();
    }
}

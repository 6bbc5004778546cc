using System.Collections.Concurrent;
using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;

namespace ActorCkpt;

/// <summary>
/// One host's tmpfs replicas of data files: <c>&lt;directory&gt;/&lt;namespace&gt;/&lt;host&gt;/step-N/&lt;file&gt;.replica</c>
/// (<see cref="ReplicaLayout"/>, <see cref="ReplicaFile"/>). Every process of the host shares the
/// directory, so a process restarted on it finds what it held: <see cref="List"/> reads what is there
/// from the files alone. Replicas are written and read with positional I/O, never mapped: they show as
/// tmpfs usage and Shmem, not in a process's RSS. Evicted replicas may wait in <c>&lt;host&gt;/spare</c>
/// for the host's next replicas to overwrite them (<see cref="Recycle"/>), and copies of other hosts'
/// replicas are made whole before they are published (<see cref="CopyAsync"/>). Safe for concurrent
/// use: every call works on files only, and a spare is claimed by an atomic rename.
/// </summary>
internal sealed class ReplicaStore
{
    private readonly LocalBlobStore _files;

    /// <summary>
    /// The store of host <paramref name="host"/> (a host id, <see cref="ReplicaLayout.HostProblem"/>) for the
    /// checkpoint root of namespace <paramref name="namespace"/> under <paramref name="directory"/> (absolute),
    /// creating its directory. Refuses a namespace or host directory that is a link, which would send the
    /// replicas somewhere else.
    /// </summary>
    public ReplicaStore(string directory, string @namespace, string host)
    {
        if (!Path.IsPathFullyQualified(directory)) throw new ArgumentException($"replica directory '{directory}' is not an absolute path", nameof(directory));
        if (!ReplicaLayout.IsNamespace(@namespace)) throw new ArgumentException($"namespace '{@namespace}' is not 16 lowercase hex digits", nameof(@namespace));
        Host = ReplicaLayout.Host(host);
        var space = Path.Combine(Path.GetFullPath(directory), @namespace);
        Root = Path.Combine(space, host);
        if (DirectoryPath.InTheWay(directory) is { } blocked) throw new IOException(blocked);
        Directory.CreateDirectory(Root);
        foreach (var d in new[] { space, Root })
            if (RegularFile.Kind(d) is var kind and not FileKind.Directory)
                throw new IOException($"replica store of host '{host}': '{d}' is {NotARegularFileException.Describe(kind)}, not a directory");
        _files = new LocalBlobStore(Root);
    }

    // Copies dropped by name (an aborted round's, a refused one), with when: one still being written
    // then is deleted at its end instead of published. Kept an hour, far past any write deadline.
    private readonly ConcurrentDictionary<(long Step, string DataFile), DateTime> _dropped = new();
    private static readonly TimeSpan DroppedKept = TimeSpan.FromHours(1);

    /// <summary>The host's directory: <c>&lt;directory&gt;/&lt;namespace&gt;/&lt;host&gt;</c>.</summary>
    public string Root { get; }

    /// <summary>The host id.</summary>
    public string Host { get; }

    /// <summary>
    /// Starts the replica of <paramref name="plan"/>'s data file for step <paramref name="step"/>, checksummed in
    /// blocks of at most <paramref name="maxBlockSize"/> bytes; nothing is visible until its <see cref="ReplicaFileWriter.Complete"/>.
    /// </summary>
    public ReplicaFileWriter Create(long step, Guid saveId, FileWritePlan plan, int maxBlockSize, IReadOnlyDictionary<string, string> fileMetadata)
    {
        if (maxBlockSize <= 0) throw new ArgumentOutOfRangeException(nameof(maxBlockSize), maxBlockSize, "must be positive");
        return Create(step, saveId, plan, plan.Items.Select(i => BlockChecksums.SizeFor(i.ByteLength, maxBlockSize)).ToArray(), fileMetadata);
    }

    /// <summary>Starts the replica of <paramref name="plan"/>'s data file with item i checksummed in blocks of <paramref name="blockSizes"/>[i] bytes (a copy of a replica made elsewhere).</summary>
    public ReplicaFileWriter Create(long step, Guid saveId, FileWritePlan plan, IReadOnlyList<int> blockSizes, IReadOnlyDictionary<string, string> fileMetadata)
    {
        var length = ReplicaFile.HeaderLength(plan, blockSizes) + plan.DataBytes;
        var key = (step, plan.FileName);
        return InStepDirectory(() =>
        {
            var (temp, claimed) = Temporary(step, plan.FileName, length);
            return new ReplicaFileWriter(temp, FinalPath(step, plan.FileName), Host, step, saveId, plan, blockSizes, fileMetadata, claimed,
                dropped: () => _dropped.ContainsKey(key));
        });
    }

    /// <summary>
    /// The payload of <paramref name="dataFile"/>'s replica of step <paramref name="step"/> (offset 0 is the data
    /// file's first byte), its header checked on open; links, FIFOs and other non-files are refused without waiting.
    /// </summary>
    public IBlobReader OpenRead(long step, string dataFile) => OpenRead(step, dataFile, out _);

    /// <summary><see cref="OpenRead(long, string)"/>, also giving the replica's header.</summary>
    public IBlobReader OpenRead(long step, string dataFile, out ReplicaHeader header) =>
        OpenAt(ReplicaLayout.StepDirectory(step) + "/" + ReplicaLayout.ReplicaName(dataFile), step, dataFile, out header);

    /// <summary>The payload of the replica file at <paramref name="relative"/> (under the host's directory), its header checked on open.</summary>
    private IBlobReader OpenAt(string relative, long step, string dataFile, out ReplicaHeader header)
    {
        var path = Path.Combine(Root, relative);
        var reader = _files.OpenRead(relative);
        try
        {
            header = ReplicaFile.Decode(reader, path, step, dataFile);
            return new OffsetBlobReader(reader, header.HeaderLength, header.PayloadLength, path);
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Every published replica whose header checks, by step then data file; names that are not readable
    /// replicas (a bad header, a FIFO, a link) are reported and left alone. Temporary files are skipped.
    /// </summary>
    public ReplicaScan List()
    {
        var held = new List<HeldReplica>();
        var unreadable = new List<string>();
        foreach (var (step, directory) in StepDirectories(unreadable))
            foreach (var name in Names(directory))
            {
                if (!ReplicaLayout.TryParse(name, out var dataFile, out var pid) || pid is not null) continue;
                try
                {
                    using var payload = OpenRead(step, dataFile, out var header);
                    held.Add(new HeldReplica(step, header.SaveId, header.Rank, dataFile, header.HeaderLength + header.PayloadLength, header.Result));
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or CheckpointFormatException)
                {
                    unreadable.Add(Describe(Path.Combine(directory, name), e));
                }
            }
        return new ReplicaScan(held, unreadable);
    }

    /// <summary>
    /// Re-reads <paramref name="replica"/> whole: its safetensors header checksum and every block of every
    /// item. Null when all match; otherwise one line naming the file, and the item and block that differ.
    /// </summary>
    public string? Verify(HeldReplica replica) =>
        Verify(replica, ReplicaLayout.StepDirectory(replica.Step) + "/" + ReplicaLayout.ReplicaName(replica.DataFile));

    /// <summary>
    /// Copies the replica another host holds under <paramref name="header"/> (step, save, data file, checksums)
    /// into this store: its payload is read in pieces of at most <paramref name="pieceBytes"/> bytes by
    /// <paramref name="read"/> (offset in the payload, where to put the bytes), written behind the header,
    /// re-read and checked whole (<see cref="Verify(HeldReplica)"/>) before it is published. Throws
    /// <see cref="ReplicaMismatchException"/> naming what differs when the bytes are not the ones the header
    /// records; nothing is published then. A spare is overwritten when there is one.
    /// </summary>
    public async Task<HeldReplica> CopyAsync(ReplicaHeader header, Func<long, Memory<byte>, Task> read, int pieceBytes)
    {
        if (pieceBytes <= 0) throw new ArgumentOutOfRangeException(nameof(pieceBytes), pieceBytes, "must be positive");
        var bytes = ReplicaFile.Encode(header);
        var replica = new HeldReplica(header.Step, header.SaveId, header.Rank, header.FileName, header.HeaderLength + header.PayloadLength, header.Result);
        var (temp, handle) = OpenTemporary(header.Step, header.FileName, replica.FileBytes);
        var size = (int)Math.Min(pieceBytes, Math.Max(header.PayloadLength, 1));
        var buffer = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            using (handle)
            {
                for (long at = 0; at < header.PayloadLength; at += size)
                {
                    var piece = buffer.AsMemory(0, (int)Math.Min(size, header.PayloadLength - at));
                    await read(at, piece).ConfigureAwait(false);
                    RandomAccess.Write(handle, piece.Span, header.HeaderLength + at);
                }
                RandomAccess.Write(handle, bytes, 0);
                RandomAccess.SetLength(handle, replica.FileBytes);
            }
            if (Verify(replica, ReplicaLayout.StepDirectory(header.Step) + "/" + Path.GetFileName(temp)) is { } problem)
                throw new ReplicaMismatchException(header.FileName, null, null, problem);
            // Dropped before or while it was copied (the planner let the step go as the copy began): not
            // published into a step that no longer holds it, counted by no budget.
            var dropped = () => new ActorCkptException($"the copy of '{header.FileName}' of step {header.Step} on host '{Host}' was dropped while it was copied");
            if (_dropped.ContainsKey((header.Step, header.FileName))) throw dropped();
            var final = FinalPath(header.Step, header.FileName);
            File.Move(temp, final, overwrite: true);
            // Dropped between the look and the rename: the drop found no file to remove, so this does.
            if (_dropped.ContainsKey((header.Step, header.FileName)))
            {
                LocalFiles.TryDelete(final);
                throw dropped();
            }
            return replica;
        }
        catch
        {
            LocalFiles.TryDelete(temp);
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary><see cref="Verify(HeldReplica)"/> of the file at <paramref name="relative"/> (under the host's directory).</summary>
    private string? Verify(HeldReplica replica, string relative)
    {
        var path = Path.Combine(Root, relative);
        var buffer = ArrayPool<byte>.Shared.Rent(DataFileStreamWriter.PieceSize);
        try
        {
            using var payload = OpenAt(relative, replica.Step, replica.DataFile, out var header);
            if (header.SaveId != replica.SaveId) return $"'{path}': written by save {header.SaveId}, not by save {replica.SaveId}";
            if (ResultDifference.Between(replica.Result, header.Result) is { } changed) return $"'{path}': its header changed: {changed.Problem}";
            if (HeaderProblem(payload, header.Result.HeaderChecksum, buffer) is { } problem) return $"'{path}': {problem}";
            foreach (var item in header.Result.Items)
            {
                var bytes = item.Bytes;
                for (var b = 0; b < bytes.BlockChecksums.Count; b++)
                {
                    var start = (long)b * bytes.BlockSize;
                    var sum = Hash(payload, bytes.Offset + start, Math.Min(bytes.BlockSize, bytes.Length - start), buffer);
                    if (sum != bytes.BlockChecksums[b])
                        return $"'{path}': item '{item.StorageName}' block {b} (bytes {start}..{start + Math.Min(bytes.BlockSize, bytes.Length - start)} of the item) " +
                               $"has checksum {BlockChecksums.ToHex(sum)}; the header records {BlockChecksums.ToHex(bytes.BlockChecksums[b])}";
                }
            }
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CheckpointFormatException)
        {
            return Describe(path, e);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Deletes the replicas of <paramref name="dataFiles"/> of step <paramref name="step"/> (all of the step's
    /// files, temporary ones included, when null), and the step's directory once it is empty. Returns the
    /// bytes of the regular files deleted.
    /// </summary>
    public long Drop(long step, IReadOnlyCollection<string>? dataFiles = null) => Remove(step, dataFiles, spare: false).Freed;

    /// <summary>
    /// <see cref="Drop"/>, except that published replicas become spare files instead of being deleted:
    /// the next replicas written on the host (<see cref="Create(long, Guid, FileWritePlan, int, IReadOnlyDictionary{string, string})"/>)
    /// take them over and overwrite their pages, which costs a copy where fresh tmpfs pages cost a
    /// page fault each, in the hypervisor as well on these machines (docs/memory-tier.md, "Recycled
    /// replica files"). Spares are not replicas: <see cref="List"/> never reports them, and
    /// <see cref="ReleaseSpares"/> deletes those left unclaimed. Returns the bytes kept as spares.
    /// </summary>
    public long Recycle(long step, IReadOnlyCollection<string>? dataFiles = null) => Remove(step, dataFiles, spare: true).Spared;

    /// <summary>
    /// Deletes the spare files that have waited at least <paramref name="unclaimedFor"/> (all of them
    /// for zero); returns how many and their bytes. A spare claimed meanwhile is left to its claimer.
    /// </summary>
    public (int Files, long Bytes) ReleaseSpares(TimeSpan unclaimedFor)
    {
        var now = DateTime.UtcNow;
        var (files, bytes) = (0, 0L);
        foreach (var (path, length, since) in Spares())
        {
            if (now - since < unclaimedFor) continue;
            if (LocalFiles.TryDelete(path))
            {
                files++;
                bytes += length;
            }
        }
        return (files, bytes);
    }

    /// <summary>Deletes (or with <paramref name="spare"/> keeps published replicas as spares) what <see cref="Drop"/> and <see cref="Recycle"/> name; the bytes of each.</summary>
    private (long Freed, long Spared) Remove(long step, IReadOnlyCollection<string>? dataFiles, bool spare)
    {
        if (dataFiles is not null && !spare)
        {
            var now = DateTime.UtcNow;
            foreach (var old in _dropped.Where(d => now - d.Value > DroppedKept).Select(d => d.Key).ToArray()) _dropped.TryRemove(old, out _);
            foreach (var file in dataFiles) _dropped[(step, file)] = now;
        }
        var directory = StepPath(step);
        var kind = RegularFile.Kind(directory);
        if (kind == FileKind.Missing) return (0, 0);
        if (kind != FileKind.Directory)
        {
            File.Delete(directory); // a link or other thing planted there: removed, never followed
            return (0, 0);
        }
        var names = dataFiles is null ? Names(directory) : dataFiles.Select(ReplicaLayout.ReplicaName).ToArray();
        long freed = 0, spared = 0;
        foreach (var name in names)
        {
            var path = Path.Combine(directory, name);
            var what = RegularFile.Kind(path);
            if (what == FileKind.Missing) continue;
            if (what == FileKind.Directory) Directory.Delete(path, recursive: true);
            else if (spare && what == FileKind.Regular && ReplicaLayout.TryParse(name, out _, out var pid) && pid is null)
                spared += MakeSpare(path);
            else
            {
                var length = what == FileKind.Regular ? LengthOrZero(path) : 0;
                File.Delete(path);
                freed += length;
            }
        }
        try
        {
            if (!Directory.EnumerateFileSystemEntries(directory).Any()) Directory.Delete(directory);
        }
        catch (IOException)
        {
            // A writer of the step started meanwhile: the directory stays with its file.
        }
        return (freed, spared);
    }

    /// <summary>
    /// Deletes the temporary files whose writing process is gone (a crash mid-write), and a step
    /// directory that this leaves empty; returns how many files.
    /// </summary>
    public int RemoveDebris()
    {
        var removed = 0;
        foreach (var (_, directory) in StepDirectories(null))
        {
            var emptied = false;
            foreach (var name in Names(directory))
                if (ReplicaLayout.TryParse(name, out _, out var pid) && pid is { } writer && ProcessLiveness.IsDead(writer))
                {
                    File.Delete(Path.Combine(directory, name));
                    removed++;
                    emptied = true;
                }
            if (!emptied) continue;
            try
            {
                if (!Directory.EnumerateFileSystemEntries(directory).Any()) Directory.Delete(directory);
            }
            catch (IOException)
            {
                // A writer of the step started meanwhile: the directory stays with its file.
            }
        }
        return removed;
    }

    /// <summary>The bytes of the host's files, and the use and size of the file system holding them (statfs).</summary>
    public ReplicaUsage Usage()
    {
        long bytes = 0;
        foreach (var (_, directory) in StepDirectories(null))
            foreach (var name in Names(directory))
            {
                var path = Path.Combine(directory, name);
                if (RegularFile.Kind(path) == FileKind.Regular) bytes += LengthOrZero(path);
            }
        var fs = MountedFileSystem.Of(Root);
        return new ReplicaUsage(bytes, fs.UsedBytes, fs.SizeBytes, Spares().Sum(s => s.Length));
    }

    /// <summary>
    /// The file's length, or 0 when it went between listing and asking (a temporary file published,
    /// or a copy dropped, by this or another process of the host): a scan must not fail for that.
    /// </summary>
    private static long LengthOrZero(string path)
    {
        try
        {
            return new FileInfo(path).Length;
        }
        catch (FileNotFoundException)
        {
            return 0;
        }
    }

    /// <summary>
    /// Makes step <paramref name="step"/>'s directory (refusing anything else found in its place) and
    /// names a temporary file there for <paramref name="dataFile"/>'s replica of <paramref name="length"/>
    /// bytes; a spare renamed to that name when one is there (<paramref name="length"/> picks which).
    /// </summary>
    private (string Temp, bool Claimed) Temporary(long step, string dataFile, long length)
    {
        var directory = StepPath(step);
        Directory.CreateDirectory(directory);
        if (RegularFile.Kind(directory) is var kind and not FileKind.Directory and not FileKind.Missing)
            throw new IOException($"replica store of host '{Host}': '{directory}' is {NotARegularFileException.Describe(kind)}, not a directory");
        var temp = Path.Combine(directory, ReplicaLayout.TempName(dataFile, Environment.ProcessId, Guid.NewGuid().ToString("N")[..8]));
        return (temp, TryClaimSpare(length, temp));
    }

    /// <summary>A temporary file for <paramref name="dataFile"/>'s replica of step <paramref name="step"/>, open for writing (a spare claimed when there is one).</summary>
    private (string Temp, Microsoft.Win32.SafeHandles.SafeFileHandle Handle) OpenTemporary(long step, string dataFile, long length) =>
        InStepDirectory(() =>
        {
            var (temp, claimed) = Temporary(step, dataFile, length);
            return (temp, ReplicaFileWriter.OpenTemporary(temp, claimed));
        });

    /// <summary>
    /// <paramref name="make"/> (a file in a step's directory, which it makes first), made again when a
    /// drop of the step removed its emptied directory between making it and creating the file.
    /// </summary>
    private static T InStepDirectory<T>(Func<T> make)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return make();
            }
            catch (DirectoryNotFoundException) when (attempt < 3)
            {
            }
        }
    }

    /// <summary>Where <paramref name="dataFile"/>'s replica of step <paramref name="step"/> is published.</summary>
    private string FinalPath(long step, string dataFile) => Path.Combine(StepPath(step), ReplicaLayout.ReplicaName(dataFile));

    /// <summary>Moves the replica at <paramref name="path"/> into the spare directory, stamped now (its wait starts); returns its bytes, 0 when it went meanwhile.</summary>
    private long MakeSpare(string path)
    {
        var spares = SparePath;
        Directory.CreateDirectory(spares);
        if (RegularFile.Kind(spares) is var kind and not FileKind.Directory)
            throw new IOException($"replica store of host '{Host}': '{spares}' is {NotARegularFileException.Describe(kind)}, not a directory");
        try
        {
            var length = new FileInfo(path).Length;
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow);
            File.Move(path, Path.Combine(spares, ReplicaLayout.SpareName(Guid.NewGuid().ToString("N"))));
            return length;
        }
        catch (FileNotFoundException)
        {
            return 0;
        }
    }

    /// <summary>
    /// Renames a spare file to <paramref name="temp"/> for a replica of <paramref name="length"/> bytes:
    /// the smallest spare that holds it, else the largest (its missing tail then takes fresh pages).
    /// A rename is atomic, so of two writers claiming one spare one gets it and the other tries the
    /// next. False when there is none.
    /// </summary>
    private bool TryClaimSpare(long length, string temp)
    {
        var spares = Spares().ToArray();
        var order = spares.Where(s => s.Length >= length).OrderBy(s => s.Length)
            .Concat(spares.Where(s => s.Length < length).OrderByDescending(s => s.Length));
        foreach (var (path, _, _) in order)
        {
            try
            {
                File.Move(path, temp);
                return true;
            }
            catch (FileNotFoundException)
            {
                // Claimed or released by another process of the host meanwhile.
            }
        }
        return false;
    }

    /// <summary>The host's spare files (regular files named as spares; anything else there is left alone), with their bytes and when they became spares.</summary>
    private IEnumerable<(string Path, long Length, DateTime Since)> Spares()
    {
        var found = new List<(string, long, DateTime)>();
        // A link planted in place of the directory would hand out files from elsewhere: not entered.
        if (RegularFile.Kind(SparePath) != FileKind.Directory) return found;
        foreach (var name in Names(SparePath))
        {
            if (!ReplicaLayout.IsSpareName(name)) continue;
            var path = Path.Combine(SparePath, name);
            if (RegularFile.Kind(path) != FileKind.Regular) continue;
            var info = new FileInfo(path);
            try
            {
                found.Add((path, info.Length, info.LastWriteTimeUtc));
            }
            catch (FileNotFoundException)
            {
                // Claimed meanwhile.
            }
        }
        return found;
    }

    /// <summary>The absolute path of the host's spare directory.</summary>
    private string SparePath => Path.Combine(Root, ReplicaLayout.SpareDirectory);

    /// <summary>The absolute path of step <paramref name="step"/>'s directory.</summary>
    private string StepPath(long step) => Path.Combine(Root, ReplicaLayout.StepDirectory(step));

    /// <summary>The step directories under the root, by step; anything else named like one (a link) is reported to <paramref name="unreadable"/>, never entered.</summary>
    private IEnumerable<(long Step, string Directory)> StepDirectories(List<string>? unreadable)
    {
        var found = new List<(long, string)>();
        foreach (var path in Directory.EnumerateFileSystemEntries(Root))
        {
            if (!CheckpointLayout.TryParseStepDirectory(Path.GetFileName(path), out var step)) continue;
            var kind = RegularFile.Kind(path);
            if (kind == FileKind.Directory) found.Add((step, path));
            else if (kind != FileKind.Missing) unreadable?.Add($"'{path}' is {NotARegularFileException.Describe(kind)}, not a step directory");
        }
        return found.OrderBy(s => s.Item1);
    }

    /// <summary>The entry names of <paramref name="directory"/>, in ordinal order (none when it went away meanwhile).</summary>
    private static string[] Names(string directory)
    {
        try
        {
            return Directory.EnumerateFileSystemEntries(directory).Select(p => Path.GetFileName(p)).Order(StringComparer.Ordinal).ToArray();
        }
        catch (DirectoryNotFoundException)
        {
            return [];
        }
    }

    /// <summary>One line naming <paramref name="path"/> and what is wrong with it (the message alone when it already names the path).</summary>
    private static string Describe(string path, Exception e) =>
        e is CheckpointFormatException or NotARegularFileException || e.Message.Contains(path, StringComparison.Ordinal) ? e.Message : $"'{path}': {e.Message}";

    /// <summary>Why the payload's safetensors header does not hash to <paramref name="recorded"/>, or null when it does.</summary>
    private static string? HeaderProblem(IBlobReader payload, string recorded, byte[] buffer)
    {
        if (payload.Length < 8) return $"the {payload.Length}-byte payload has no safetensors header";
        payload.ReadExactly(buffer.AsSpan(0, 8), 0);
        var n = BinaryPrimitives.ReadUInt64LittleEndian(buffer);
        if (n > (ulong)Math.Min(SafetensorsHeader.MaxHeaderLength, payload.Length - 8))
            return $"the safetensors header length {n} does not fit the {payload.Length}-byte payload";
        var sum = BlockChecksums.ToHex(Hash(payload, 0, 8 + (long)n, buffer));
        return sum == recorded ? null : $"the safetensors header has checksum {sum}; the header records {recorded}";
    }

    /// <summary>xxh3-64 of <paramref name="length"/> bytes of <paramref name="payload"/> at <paramref name="offset"/>, read in pieces through <paramref name="buffer"/>.</summary>
    private static ulong Hash(IBlobReader payload, long offset, long length, byte[] buffer)
    {
        var hasher = new XxHash3();
        while (length > 0)
        {
            var take = (int)Math.Min(length, buffer.Length);
            payload.ReadExactly(buffer.AsSpan(0, take), offset);
            hasher.Append(buffer.AsSpan(0, take));
            offset += take;
            length -= take;
        }
        return hasher.GetCurrentHashAsUInt64();
    }
}

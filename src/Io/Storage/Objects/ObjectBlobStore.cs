namespace ActorCkpt;

/// <summary>
/// <see cref="IBlobStore"/> over one root of an object store (<see cref="ObjectRoot"/>). Files are
/// objects under the root's prefix; directories are key prefixes, so creating or syncing one does
/// nothing. What an object store has no word for is done this way:
/// <list type="bullet">
/// <item>A file is written as an upload in parts (<see cref="ObjectUpload"/>) and appears whole at
/// its flush, or never.</item>
/// <item>Temporary files (names ending <c>.tmp</c>, written to be renamed into place) are staged in
/// the root's local state directory; the rename is the upload, create-only where the service
/// honours it (If-None-Match), so a step's metadata appears after every data object is complete
/// and a second writer of the same step is refused.</item>
/// <item>Other renames copy on the service's side, then delete.</item>
/// <item>Locks are local file locks in the state directory: they exclude processes of this machine,
/// which is where the root's catalog lives too.</item>
/// </list>
/// </summary>
internal sealed class ObjectBlobStore : IBlobStore, IDisposable
{
    private const string StagedSuffix = ".tmp";
    private readonly IObjectClient _client;
    private readonly ObjectStoreOptions _options;
    private readonly ObjectRetries _retries;
    private readonly object _stagingGate = new();
    // Made on first use, so that a read-only reader of the root (inspect, verify, export) leaves
    // nothing on the local disk.
    private LocalBlobStore? _staged;
    private LocalBlobStore? _locks;

    /// <summary>The store over <paramref name="location"/> through <paramref name="client"/>, with its local state in <paramref name="stateDirectory"/>.</summary>
    public ObjectBlobStore(ObjectRoot location, IObjectClient client, ObjectStoreOptions options, string stateDirectory)
    {
        Location = location;
        _client = client;
        _options = options;
        _retries = new ObjectRetries(options);
        StateDirectory = Path.GetFullPath(stateDirectory);
        EnsureThreads(options.Parallelism);
    }

    /// <summary>
    /// Readers and writers call this store synchronously from pool threads, each waiting for HTTP
    /// requests whose completions need pool threads too: with the pool's default minimum (the core
    /// count) it adds the threads they need at about two a second, and a load stalls meanwhile. The
    /// minimum is raised (never lowered) to what the reads and parts in flight can block.
    /// </summary>
    private static void EnsureThreads(int parallelism)
    {
        ThreadPool.GetMinThreads(out var workers, out var io);
        var wanted = Math.Min(256, 16 * Math.Max(parallelism, 4));
        if (workers < wanted) ThreadPool.SetMinThreads(wanted, io);
    }

    /// <summary>The root in the object store.</summary>
    public ObjectRoot Location { get; }

    /// <summary>The local directory of this root's catalog, locks and staged files.</summary>
    public string StateDirectory { get; }

    private LocalBlobStore Locks => LazyInitializer.EnsureInitialized(ref _locks, () => new LocalBlobStore(StateDirectory));

    /// <summary>The local folder of staged files (temporary files before their publish) in the state directory.</summary>
    private string StagingDirectory => Path.Combine(StateDirectory, "staged");

    private LocalBlobStore Staged => LazyInitializer.EnsureInitialized(ref _staged, () => new LocalBlobStore(StagingDirectory));

    /// <summary>Makes the local state directory (where a node journaling this root keeps its SQLite catalog), if missing.</summary>
    public void MakeStateDirectory() => _ = Locks;

    /// <summary>Whether the staging directory exists (made by this process or an earlier one): where it does not, no staged file does.</summary>
    private bool StagingMade => _staged is not null || Directory.Exists(StagingDirectory);

    /// <summary>True when the service refuses create-only writes of a taken key itself; false when the store looks before it writes (<see cref="IObjectClient.HonoursCreateOnly"/>).</summary>
    public bool HonoursCreateOnly => _client.HonoursCreateOnly;

    /// <summary>Requests sent again after a failure a retry could cure, so far.</summary>
    public long Retried => _retries.Retried;

    /// <inheritdoc />
    public string Root => Location.ToString();

    /// <inheritdoc />
    public IBlobWriter Create(string path) =>
        IsStaged(path) ? CreateStaged(path) : new ObjectUpload(_client, _retries, Key(path), _options);

    /// <inheritdoc />
    public IBlobReader OpenRead(string path)
    {
        if (IsStaged(path)) return Staged.OpenRead(path);
        var length = Run(path, c => _client.LengthAsync(Key(path), c))
                     ?? throw new FileNotFoundException($"'{Root}/{path}' does not exist", path);
        return new ObjectReader(_client, _retries, Key(path), $"{Root}/{path}", length, _options);
    }

    /// <inheritdoc />
    public bool Exists(string path) =>
        IsStaged(path) ? StagingMade && Staged.Exists(path) : Run(path, c => _client.LengthAsync(Key(path), c)) is not null;

    /// <inheritdoc />
    /// <remarks>An object is always a plain sequence of bytes: there are no FIFOs or links to refuse.</remarks>
    public bool IsRegularFile(string path) => Exists(path);

    /// <inheritdoc />
    public void Rename(string from, string to, bool overwrite)
    {
        switch (IsStaged(from), IsStaged(to))
        {
            case (true, true):
                Staged.Rename(from, to, overwrite);
                break;
            case (true, false):
                Publish(from, to, createOnly: !overwrite);
                break;
            case (false, true):
                // Taking an object back to a temporary name (un-committing a step): its bytes come
                // back to the staging directory, and the object is gone.
                Download(from, to);
                DeleteFile(from);
                break;
            default:
                if (Exists(from)) MoveObject(from, to, overwrite);
                else MoveDirectory(from, to);
                break;
        }
    }

    /// <inheritdoc />
    /// <remarks>Objects are durable once their upload completes; a directory's entries need nothing more.</remarks>
    public void SyncDirectory(string path)
    {
    }

    /// <inheritdoc />
    /// <remarks>A prefix needs no creating: only the local staging directory is made, for temporary files.</remarks>
    public void CreateDirectory(string path) => Staged.CreateDirectory(path);

    /// <inheritdoc />
    public void DeleteFile(string path)
    {
        if (IsStaged(path))
        {
            if (StagingMade) DropStaged(path);
        }
        else Run(path, c => _client.DeleteAsync(Key(path), c));
    }

    /// <inheritdoc />
    /// <remarks>Uploads begun under it and never completed (a killed writer's) are aborted too, so nothing of them is left.</remarks>
    public void DeleteDirectory(string path)
    {
        var prefix = DirectoryKey(path);
        foreach (var (key, id) in Run(path, c => _client.ListUploadsAsync(prefix, c)))
            Run(path, c => _client.AbortUploadAsync(key, id, c));
        var keys = Run(path, c => _client.ListAsync(prefix, c));
        Parallel.ForEach(keys, new ParallelOptions { MaxDegreeOfParallelism = _options.Parallelism },
            key => Run(path, c => _client.DeleteAsync(key, c)));
        if (StagingMade) Staged.DeleteDirectory(path);
    }

    /// <inheritdoc />
    public IReadOnlyList<string> ListDirectories(string path) =>
        Run(path, c => _client.ListDirectoriesAsync(DirectoryKey(path), c));

    /// <inheritdoc />
    public IDisposable Lock(string path) => Locks.Lock(path);

    /// <summary>
    /// Uploads begun under the root and never completed nor aborted (left by a killed process),
    /// as paths relative to the root with their upload ids. Call only while no save runs. Only the
    /// root's own files count: those of its steps and memory tier, and its top-level files. Another
    /// root nested under this prefix (az://c holds az://c/run-2) is another job's, which this root's
    /// lock does not hold still.
    /// </summary>
    public IReadOnlyList<(string Path, string UploadId)> AbandonedUploads() =>
        Run("", c => _client.ListUploadsAsync(Location.Prefix, c)).Select(u => (Path: u.Key[Location.Prefix.Length..], u.UploadId)).Where(u => OwnFile(u.Path)).ToArray();

    private static bool OwnFile(string path) =>
        path.IndexOf('/') is var slash && (slash < 0 || CheckpointLayout.TryParseStepDirectory(path[..slash], out _) || path[..slash] == CheckpointLayout.MemoryDirectory);

    /// <summary>Aborts an upload <see cref="AbandonedUploads"/> listed, with every part it sent.</summary>
    public void AbortUpload(string path, string uploadId) => Run(path, c => _client.AbortUploadAsync(Key(path), uploadId, c));

    /// <inheritdoc />
    public void Dispose() => _client.Dispose();

    /// <summary>Uploads staged file <paramref name="from"/> as object <paramref name="to"/> (as any file is written), then drops the staged file.</summary>
    private void Publish(string from, string to, bool createOnly)
    {
        if (createOnly && !_client.HonoursCreateOnly && Exists(to))
            throw new ObjectStoreException(ObjectErrorKind.AlreadyExists, $"{_client.Describe}: {Key(to)} exists already (looked before writing: this service ignores If-None-Match)");
        try
        {
            using var source = Staged.OpenRead(from);
            using var upload = new ObjectUpload(_client, _retries, Key(to), _options, createOnly);
            BlobCopy.Copy(source, upload, source.Length, _options.PartSize);
            upload.Flush();
        }
        catch (ObjectStoreException e) when (createOnly && e.Kind == ObjectErrorKind.AlreadyExists && HoldsStaged(from, to))
        {
            // A retry of a write that had landed (its answer lost): the object is this one, written.
        }
        DropStaged(from);
    }

    /// <summary>Whether object <paramref name="to"/> holds exactly the bytes of staged file <paramref name="from"/>.</summary>
    private bool HoldsStaged(string from, string to)
    {
        using var staged = Staged.OpenRead(from);
        using var there = OpenRead(to);
        if (staged.Length != there.Length) return false;
        var (mine, theirs) = (new byte[(int)Math.Min(1 << 20, Math.Max(1, staged.Length))], new byte[(int)Math.Min(1 << 20, Math.Max(1, staged.Length))]);
        for (long at = 0; at < staged.Length; at += mine.Length)
        {
            var n = (int)Math.Min(mine.Length, staged.Length - at);
            staged.ReadExactly(mine.AsSpan(0, n), at);
            there.ReadExactly(theirs.AsSpan(0, n), at);
            if (!mine.AsSpan(0, n).SequenceEqual(theirs.AsSpan(0, n))) return false;
        }
        return true;
    }

    private void Download(string from, string to)
    {
        using var source = OpenRead(from);
        using var target = CreateStaged(to);
        BlobCopy.Copy(source, target, source.Length, _options.PartSize);
        target.Flush();
    }

    private void MoveObject(string from, string to, bool overwrite)
    {
        if (!overwrite && !_client.HonoursCreateOnly && Exists(to))
            throw new ObjectStoreException(ObjectErrorKind.AlreadyExists, $"{_client.Describe}: {Key(to)} exists already");
        Run(to, c => _client.CopyAsync(Key(from), Key(to), createOnly: !overwrite, c));
        Run(from, c => _client.DeleteAsync(Key(from), c));
    }

    /// <summary>
    /// Moves every object under directory <paramref name="from"/> (quarantining a step): copies all,
    /// then deletes the metadata first, so a crash halfway leaves the step un-committed, never half there.
    /// </summary>
    private void MoveDirectory(string from, string to)
    {
        var source = DirectoryKey(from);
        var target = DirectoryKey(to);
        if (Run(to, c => _client.ListAsync(target, c)).Count > 0)
            throw new ObjectStoreException(ObjectErrorKind.AlreadyExists, $"{_client.Describe}: {target} holds objects already");
        var keys = Run(from, c => _client.ListAsync(source, c));
        if (keys.Count == 0) throw new DirectoryNotFoundException($"'{Root}/{from}' holds no objects");
        Parallel.ForEach(keys, new ParallelOptions { MaxDegreeOfParallelism = _options.Parallelism },
            key => Run(to, c => _client.CopyAsync(key, target + key[source.Length..], createOnly: false, c)));
        foreach (var key in keys.OrderBy(k => k.EndsWith("/" + CheckpointLayout.MetadataFile, StringComparison.Ordinal) ? 0 : 1))
            Run(from, c => _client.DeleteAsync(key, c));
    }

    /// <summary>Makes staged file <paramref name="path"/>, and its folder when missing.</summary>
    private IBlobWriter CreateStaged(string path)
    {
        // Under the gate: a folder goes with its last staged file (DropStaged), never between its making and its file's.
        lock (_stagingGate)
        {
            Staged.CreateDirectory(ParentOf(path));
            return Staged.Create(path);
        }
    }

    /// <summary>Deletes staged file <paramref name="path"/>, and its folder when that leaves it empty: a step's folder would otherwise stay, empty, for as long as the step.</summary>
    private void DropStaged(string path)
    {
        lock (_stagingGate)
        {
            Staged.DeleteFile(path);
            if (ParentOf(path) is not { Length: > 0 } parent) return;
            var folder = Path.Combine(StagingDirectory, parent);
            try
            {
                if (Directory.Exists(folder) && !Directory.EnumerateFileSystemEntries(folder).Any()) Directory.Delete(folder);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Not empty after all, or not ours to remove: an empty folder is not worth failing a write for.
            }
        }
    }

    private static bool IsStaged(string path) => path.EndsWith(StagedSuffix, StringComparison.Ordinal);

    private static string ParentOf(string path) => path.LastIndexOf('/') is var slash and > 0 ? path[..slash] : "";

    /// <summary>The key of file <paramref name="path"/>; a path that climbs out of the root ('..', a leading '/') is refused.</summary>
    private string Key(string path)
    {
        if (path.StartsWith('/') || path.Split('/').Any(s => s is "." or ".."))
            throw new UnauthorizedAccessException($"'{path}' leads outside the checkpoint root '{Root}'");
        return Location.Key(path);
    }

    /// <summary>The key prefix of directory <paramref name="path"/>, ending with '/' ("" is the root's prefix).</summary>
    private string DirectoryKey(string path) => path.Length == 0 ? Location.Prefix : Key(path.TrimEnd('/')) + "/";

    private T Run<T>(string path, Func<CancellationToken, Task<T>> request) =>
        _retries.RunAsync($"{_client.Describe}: {Key(path)}", request, CancellationToken.None).GetAwaiter().GetResult();

    private void Run(string path, Func<CancellationToken, Task> request) =>
        _retries.RunAsync($"{_client.Describe}: {Key(path)}", request, CancellationToken.None).GetAwaiter().GetResult();
}

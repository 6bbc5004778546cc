using System.Collections.Concurrent;

namespace ActorCkpt.Io.Tests;

/// <summary>
/// A container held in memory with an object store's rules (objects appear whole when an upload
/// completes, create-only writes refused on a taken key where <see cref="HonoursCreateOnly"/>), for
/// specs of what sits above <see cref="IObjectClient"/>; the real services are covered against their
/// emulators. Counts parts in flight, and fails requests as <see cref="FailNext"/> asks.
/// </summary>
internal sealed class MemoryObjectClient(bool honoursCreateOnly = true) : IObjectClient
{
    private readonly ConcurrentDictionary<string, byte[]> _objects = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (string Key, ConcurrentDictionary<int, byte[]> Parts)> _uploads = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(Func<string, bool> Matches, ObjectErrorKind Kind)> _faults = new();
    private int _inFlight;
    private int _maxInFlight;
    private int _gate;

    public string Describe => "mem://test";

    public bool HonoursCreateOnly { get; } = honoursCreateOnly;

    /// <summary>The most part uploads that were running at once.</summary>
    public int MaxPartsInFlight => _maxInFlight;

    /// <summary>Part uploads block until <see cref="Open"/> when set, so a spec can see how many a writer starts at once.</summary>
    public ManualResetEventSlim? Gate { get; set; }

    /// <summary>Part uploads that reached the gate.</summary>
    public int AtGate => Volatile.Read(ref _gate);

    /// <summary>Each part's body as it was handed over, by part number (the last attempt): the memory it was read from, piece by piece.</summary>
    public ConcurrentDictionary<int, ReadOnlyMemory<byte>[]> PartBodies { get; } = new();

    /// <summary>Requests made, by kind ("part", "put", "complete", "get", ...).</summary>
    public ConcurrentDictionary<string, int> Requests { get; } = new();

    public IReadOnlyDictionary<string, byte[]> Objects => _objects;

    public IReadOnlyCollection<string> OpenUploads => _uploads.Values.Select(u => u.Key).ToArray();

    /// <summary>The next request whose kind matches fails with <paramref name="kind"/> (queued: one failure per call).</summary>
    public void FailNext(Func<string, bool> matches, ObjectErrorKind kind) => _faults.Enqueue((matches, kind));

    private readonly ConcurrentQueue<Func<string, bool>> _lostAnswers = new();

    /// <summary>The next put whose key matches is carried out, and then fails as a timeout would: its answer lost.</summary>
    public void LoseAnswerOfNextPut(Func<string, bool> matches) => _lostAnswers.Enqueue(matches);

    public Task EnsureContainerAsync(bool create, CancellationToken cancel) => Task.CompletedTask;

    public Task<long?> LengthAsync(string key, CancellationToken cancel)
    {
        Count("head");
        return Task.FromResult(_objects.TryGetValue(key, out var o) ? (long?)o.Length : null);
    }

    public Task PutAsync(string key, ReadOnlyMemory<byte> data, bool createOnly, CancellationToken cancel)
    {
        Count("put");
        Store(key, data.ToArray(), createOnly);
        if (_lostAnswers.TryPeek(out var lost) && lost(key) && _lostAnswers.TryDequeue(out _))
            throw new ObjectStoreException(ObjectErrorKind.Transient, $"{Describe}: {key}: the answer was lost (a timeout)");
        return Task.CompletedTask;
    }

    public Task<string> StartUploadAsync(string key, CancellationToken cancel)
    {
        Count("start");
        var id = Guid.NewGuid().ToString("N");
        _uploads[id] = (key, new ConcurrentDictionary<int, byte[]>());
        return Task.FromResult(id);
    }

    public async Task<string> UploadPartAsync(string key, string uploadId, int part, System.Buffers.ReadOnlySequence<byte> data, CancellationToken cancel)
    {
        var now = Interlocked.Increment(ref _inFlight);
        try
        {
            int seen;
            while (now > (seen = Volatile.Read(ref _maxInFlight)) && Interlocked.CompareExchange(ref _maxInFlight, now, seen) != seen)
            {
            }
            if (Gate is { } gate)
            {
                Interlocked.Increment(ref _gate);
                await Task.Run(() => gate.Wait(cancel), cancel);
            }
            Count("part");
            var copy = System.Buffers.BuffersExtensions.ToArray(data);
            var pieces = new List<ReadOnlyMemory<byte>>();
            foreach (var piece in data) pieces.Add(piece);
            PartBodies[part] = pieces.ToArray();
            if (!_uploads.TryGetValue(uploadId, out var upload)) throw new ObjectStoreException(ObjectErrorKind.NotFound, $"{Describe}: {key}: no upload {uploadId}");
            upload.Parts[part] = copy;
            return $"tag-{part}";
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    public Task CompleteUploadAsync(string key, string uploadId, IReadOnlyList<string> partTags, bool createOnly, CancellationToken cancel)
    {
        Count("complete");
        if (!_uploads.TryRemove(uploadId, out var upload)) throw new ObjectStoreException(ObjectErrorKind.NotFound, $"{Describe}: {key}: no upload {uploadId}");
        var bytes = Enumerable.Range(1, partTags.Count).SelectMany(p => upload.Parts[p]).ToArray();
        Store(key, bytes, createOnly);
        return Task.CompletedTask;
    }

    public Task AbortUploadAsync(string key, string uploadId, CancellationToken cancel)
    {
        Count("abort");
        _uploads.TryRemove(uploadId, out _);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<(string Key, string UploadId)>> ListUploadsAsync(string prefix, CancellationToken cancel) =>
        Task.FromResult<IReadOnlyList<(string, string)>>(_uploads.Where(u => u.Value.Key.StartsWith(prefix, StringComparison.Ordinal)).Select(u => (u.Value.Key, u.Key)).ToArray());

    public Task ReadAsync(string key, long offset, Memory<byte> into, CancellationToken cancel)
    {
        Count("get");
        if (!_objects.TryGetValue(key, out var o)) throw new ObjectStoreException(ObjectErrorKind.NotFound, $"{Describe}: {key}: 404");
        if (offset + into.Length > o.Length) throw new ObjectStoreException(ObjectErrorKind.Permanent, $"{Describe}: {key}: 416");
        o.AsMemory((int)offset, into.Length).CopyTo(into);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancel) =>
        Task.FromResult<IReadOnlyList<string>>(_objects.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).OrderBy(k => k, StringComparer.Ordinal).ToArray());

    public Task<IReadOnlyList<string>> ListDirectoriesAsync(string prefix, CancellationToken cancel) =>
        Task.FromResult<IReadOnlyList<string>>(_objects.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal) && k.IndexOf('/', prefix.Length) > 0)
            .Select(k => k[prefix.Length..k.IndexOf('/', prefix.Length)]).Distinct().OrderBy(k => k, StringComparer.Ordinal).ToArray());

    public Task CopyAsync(string from, string to, bool createOnly, CancellationToken cancel)
    {
        Count("copy");
        if (!_objects.TryGetValue(from, out var o)) throw new ObjectStoreException(ObjectErrorKind.NotFound, $"{Describe}: {from}: 404");
        Store(to, o, createOnly);
        return Task.CompletedTask;
    }

    public Task DeleteAsync(string key, CancellationToken cancel)
    {
        Count("delete");
        _objects.TryRemove(key, out _);
        return Task.CompletedTask;
    }

    public Task SdkUploadAsync(string key, Stream data, int partSize, int parallelism, CancellationToken cancel) => throw new NotSupportedException("the bench's baseline runs against a real service");

    public Task SdkDownloadAsync(string key, Stream into, int partSize, int parallelism, CancellationToken cancel) => throw new NotSupportedException("the bench's baseline runs against a real service");

    public void Dispose()
    {
    }

    private void Store(string key, byte[] bytes, bool createOnly)
    {
        if (createOnly && HonoursCreateOnly)
        {
            if (!_objects.TryAdd(key, bytes)) throw new ObjectStoreException(ObjectErrorKind.AlreadyExists, $"{Describe}: {key}: 412 the key is taken");
        }
        else _objects[key] = bytes;
    }

    private void Count(string kind)
    {
        Requests.AddOrUpdate(kind, 1, (_, n) => n + 1);
        if (_faults.TryPeek(out var f) && f.Matches(kind) && _faults.TryDequeue(out _))
            throw new ObjectStoreException(f.Kind, $"{Describe}: injected {f.Kind} on a {kind} request");
    }
}

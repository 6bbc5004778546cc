using System.Buffers;
using System.Collections.Concurrent;

namespace ActorCkpt;

/// <summary>
/// A file written into an object store as an upload in parts: positional writes fill part buffers
/// (<see cref="PartCoverage"/>), and each part goes up as soon as all its bytes are in, at most
/// <see cref="ObjectStoreOptions.Parallelism"/> at once (a write waits for a free slot, so memory
/// stays bounded whatever the file's size), each checksummed by the service and retried by
/// <see cref="ObjectRetries"/>. <see cref="Flush"/> sends what is left and completes the upload:
/// only then does the object exist. Disposed without a flush, the upload is aborted and nothing
/// of it remains. A file that fits in one part is one PUT.
/// </summary>
internal sealed class ObjectUpload : IBlobWriter
{
    private readonly IObjectClient _client;
    private readonly ObjectRetries _retries;
    private readonly string _key;
    private readonly PartCoverage _coverage;
    private readonly Dictionary<long, byte[]> _buffers = new();
    private readonly SemaphoreSlim _slots;
    private readonly List<Task> _uploads = new();
    private readonly ConcurrentDictionary<long, string> _tags = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly object _gate = new();
    private readonly bool _createOnly;
    private Task<string>? _uploadId;
    private bool _done;

    /// <summary>
    /// Starts writing object <paramref name="key"/>; nothing is sent until a part is complete. With
    /// <paramref name="createOnly"/>, the flush is refused when the key is taken (where the service honours it).
    /// </summary>
    public ObjectUpload(IObjectClient client, ObjectRetries retries, string key, ObjectStoreOptions options, bool createOnly = false)
    {
        _client = client;
        _retries = retries;
        _key = key;
        _createOnly = createOnly;
        _coverage = new PartCoverage(options.PartSize);
        _slots = new SemaphoreSlim(options.Parallelism);
    }

    /// <inheritdoc />
    public void Write(ReadOnlySpan<byte> data, long offset)
    {
        lock (_gate)
        {
            if (_done) throw new ObjectDisposedException(_key);
            ThrowIfPartFailed();
            var size = _coverage.PartSize;
            for (var at = 0; at < data.Length;)
            {
                var position = offset + at;
                var part = position / size;
                var inPart = (int)(position - part * size);
                var take = Math.Min(size - inPart, data.Length - at);
                data.Slice(at, take).CopyTo(Buffer(part).AsSpan(inPart, take));
                at += take;
            }
            foreach (var part in _coverage.Record(offset, data.Length)) Send(part, size);
        }
    }

    /// <inheritdoc />
    /// <remarks>The object appears here, whole, or not at all: parts never written are zeros, as a sparse file's holes read.</remarks>
    public void Flush()
    {
        lock (_gate)
        {
            if (_done) throw new ObjectDisposedException(_key);
            if (_uploadId is null && _coverage.Length <= _coverage.PartSize)
            {
                var length = (int)_coverage.Length;
                var bytes = length == 0 ? Array.Empty<byte>() : Buffer(0);
                _retries.RunAsync($"{_client.Describe}: {_key}", c => _client.PutAsync(_key, bytes.AsMemory(0, length), _createOnly, c), _abort.Token).GetAwaiter().GetResult();
                _done = true;
                Release();
                return;
            }
            for (long part = 0; part < _coverage.PartCount; part++)
                if (!_coverage.IsComplete(part) && !_tags.ContainsKey(part)) Send(part, _coverage.LengthOf(part));
            Task.WhenAll(_uploads).GetAwaiter().GetResult();
            var id = _uploadId!.GetAwaiter().GetResult();
            var tags = Enumerable.Range(0, (int)_coverage.PartCount).Select(p => _tags[p]).ToArray();
            _retries.RunAsync($"{_client.Describe}: {_key}", c => _client.CompleteUploadAsync(_key, id, tags, _createOnly, c), _abort.Token).GetAwaiter().GetResult();
            _done = true;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate)
        {
            if (_done) return;
            _done = true;
            _abort.Cancel();
            try
            {
                Task.WhenAll(_uploads).GetAwaiter().GetResult();
            }
            catch
            {
                // The parts' failures or cancellations: the upload is dropped whatever they were.
            }
            if (_uploadId is { IsCompletedSuccessfully: true } started)
            {
                var id = started.Result;
                try
                {
                    _retries.RunAsync($"{_client.Describe}: {_key}", c => _client.AbortUploadAsync(_key, id, c), CancellationToken.None).GetAwaiter().GetResult();
                }
                catch (ObjectStoreException)
                {
                    // Left for gc, which lists and aborts uploads that no one completed.
                }
            }
            Release();
        }
    }

    /// <summary>The buffer of part <paramref name="part"/>, zeroed when new (a hole must read as zeros).</summary>
    private byte[] Buffer(long part)
    {
        if (_buffers.TryGetValue(part, out var buffer)) return buffer;
        buffer = ArrayPool<byte>.Shared.Rent(_coverage.PartSize);
        Array.Clear(buffer);
        _buffers[part] = buffer;
        return buffer;
    }

    /// <summary>Uploads part <paramref name="part"/>'s first <paramref name="length"/> bytes once a slot is free; the buffer goes back to the pool after.</summary>
    private void Send(long part, int length)
    {
        var buffer = Buffer(part);
        _buffers.Remove(part);
        try
        {
            _slots.Wait(_abort.Token);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
        _uploadId ??= _retries.RunAsync($"{_client.Describe}: {_key}", c => _client.StartUploadAsync(_key, c), _abort.Token);
        var started = _uploadId;
        _uploads.Add(Task.Run(async () =>
        {
            try
            {
                var id = await started.ConfigureAwait(false);
                _tags[part] = await _retries.RunAsync($"{_client.Describe}: {_key} part {part + 1}",
                    c => _client.UploadPartAsync(_key, id, (int)part + 1, buffer.AsMemory(0, length), c), _abort.Token).ConfigureAwait(false);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
                _slots.Release();
            }
        }));
    }

    /// <summary>Fails a write early once a part has failed for good, rather than at the flush.</summary>
    private void ThrowIfPartFailed()
    {
        foreach (var upload in _uploads)
            if (upload.IsFaulted) upload.GetAwaiter().GetResult();
        if (_uploadId is { IsFaulted: true } start) start.GetAwaiter().GetResult();
    }

    private void Release()
    {
        foreach (var buffer in _buffers.Values) ArrayPool<byte>.Shared.Return(buffer);
        _buffers.Clear();
    }
}

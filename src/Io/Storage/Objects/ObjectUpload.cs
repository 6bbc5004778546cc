using System.Buffers;
using System.Collections.Concurrent;

namespace ActorCkpt;

/// <summary>
/// A file written into an object store as an upload in parts: positional writes fill parts
/// (<see cref="PartCoverage"/>), and each part goes up as soon as all its bytes are in, at most
/// <see cref="ObjectStoreOptions.Parallelism"/> at once (a write waits for a free slot, so memory
/// stays bounded whatever the file's size), each checksummed by the service and retried by
/// <see cref="ObjectRetries"/>. <see cref="Flush"/> sends what is left and completes the upload:
/// only then does the object exist. Disposed without a flush, the upload is aborted and nothing
/// of it remains. A file that fits in one part is one PUT. Lent bytes (<see cref="WriteLent"/>: the
/// staged buffers) are sent from where they lie; other writes are copied into a buffer of their part.
/// </summary>
internal sealed class ObjectUpload : IBlobWriter
{
    private readonly IObjectClient _client;
    private readonly ObjectRetries _retries;
    private readonly string _key;
    private readonly PartCoverage _coverage;
    private readonly Dictionary<long, PartPieces> _parts = new();
    private readonly SemaphoreSlim _slots;
    private readonly List<Task> _uploads = new();
    private readonly ConcurrentDictionary<long, string> _tags = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly object _gate = new();
    private readonly bool _createOnly;
    private Task<string>? _uploadId;
    private bool _done;
    private volatile bool _abandoned;

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
    public void Write(ReadOnlySpan<byte> data, long offset) => Write(data, default, lent: false, offset);

    /// <inheritdoc />
    public void WriteLent(ReadOnlyMemory<byte> data, long offset) => Write(data.Span, data, lent: true, offset);

    /// <summary>Adds the bytes to their parts (lent as pieces of <paramref name="memory"/>, or copied from <paramref name="span"/>), then sends the parts they completed.</summary>
    private void Write(ReadOnlySpan<byte> span, ReadOnlyMemory<byte> memory, bool lent, long offset)
    {
        lock (_gate)
        {
            if (_done) throw new ObjectDisposedException(_key);
            ThrowIfPartFailed();
            var size = _coverage.PartSize;
            var completed = _coverage.Record(offset, span.Length);
            for (var at = 0; at < span.Length;)
            {
                var position = offset + at;
                var part = position / size;
                var inPart = (int)(position - part * size);
                var take = Math.Min(size - inPart, span.Length - at);
                var pieces = Part(part);
                if (lent) pieces.Lend(inPart, memory.Slice(at, take));
                else pieces.Copy(inPart, span.Slice(at, take), size);
                at += take;
            }
            foreach (var part in completed) Send(part, size);
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
                var pieces = Take(0);
                var whole = pieces.Contiguous(length);
                try
                {
                    _retries.RunAsync($"{_client.Describe}: {_key}", c => _client.PutAsync(_key, whole.AsMemory(0, length), _createOnly, c), _abort.Token).GetAwaiter().GetResult();
                }
                finally
                {
                    if (whole.Length > 0) ArrayPool<byte>.Shared.Return(whole);
                    pieces.Release();
                }
                _done = true;
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
    public void Abandon()
    {
        _abandoned = true;
        // Not under the lock: a write holds it while it waits for a slot, which this ends.
        _abort.Cancel();
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
                    if (!_abandoned)
                        _retries.RunAsync($"{_client.Describe}: {_key}", c => _client.AbortUploadAsync(_key, id, c), CancellationToken.None).GetAwaiter().GetResult();
                    else
                        // Given up on (a store that stopped answering, most likely): one try, bounded as a request is, no retries.
                        _retries.RunOnceAsync(c => _client.AbortUploadAsync(_key, id, c)).GetAwaiter().GetResult();
                }
                catch (Exception e) when (e is ObjectStoreException or OperationCanceledException)
                {
                    // Left for gc, which lists and aborts uploads that no one completed.
                }
            }
            Release();
        }
    }

    /// <summary>The pieces of part <paramref name="part"/> written so far.</summary>
    private PartPieces Part(long part)
    {
        if (!_parts.TryGetValue(part, out var pieces)) _parts[part] = pieces = new PartPieces();
        return pieces;
    }

    /// <summary>Part <paramref name="part"/>'s pieces, which are no longer this upload's to release (none when nothing was written to it).</summary>
    private PartPieces Take(long part)
    {
        if (_parts.Remove(part, out var pieces)) return pieces;
        return new PartPieces();
    }

    /// <summary>Uploads part <paramref name="part"/>'s first <paramref name="length"/> bytes once a slot is free; its buffers go back to the pool after.</summary>
    private void Send(long part, int length)
    {
        var pieces = Take(part);
        try
        {
            _slots.Wait(_abort.Token);
        }
        catch
        {
            pieces.Release();
            throw;
        }
        var body = pieces.Body(length);
        // Started and sent parts finish their attempt even when the writer is dropped meanwhile:
        // Dispose then aborts after the last of them, so none lands after the abort.
        _uploadId ??= _retries.RunAsync($"{_client.Describe}: {_key}", c => _client.StartUploadAsync(_key, c), _abort.Token, finishAttempt: true);
        var started = _uploadId;
        _uploads.Add(Task.Run(async () =>
        {
            try
            {
                var id = await started.ConfigureAwait(false);
                _tags[part] = await _retries.RunAsync($"{_client.Describe}: {_key} part {part + 1}",
                    c => _client.UploadPartAsync(_key, id, (int)part + 1, body, c), _abort.Token, finishAttempt: true).ConfigureAwait(false);
            }
            finally
            {
                pieces.Release();
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
        foreach (var pieces in _parts.Values) pieces.Release();
        _parts.Clear();
    }

    /// <summary>
    /// What one part holds so far: pieces at their offsets in the part, each lent by the writer or
    /// copied into the part's own buffer. No byte is written twice (<see cref="PartCoverage"/>
    /// refuses it), so the pieces of a complete part tile it.
    /// </summary>
    private sealed class PartPieces
    {
        private readonly List<(int At, ReadOnlyMemory<byte> Bytes)> _pieces = new();
        private byte[]? _copies;
        private byte[]? _assembled;

        /// <summary>Adds lent bytes at <paramref name="at"/>, joined to the piece before when they follow it in memory.</summary>
        public void Lend(int at, ReadOnlyMemory<byte> bytes)
        {
            if (_pieces.Count > 0 && _pieces[^1] is var (lastAt, last) && lastAt + last.Length == at && LentBytes.TryJoin(last, bytes, out var joined))
                _pieces[^1] = (lastAt, joined);
            else _pieces.Add((at, bytes));
        }

        /// <summary>Copies <paramref name="bytes"/> into the part's buffer at <paramref name="at"/> and adds them as a piece.</summary>
        public void Copy(int at, ReadOnlySpan<byte> bytes, int partSize)
        {
            _copies ??= ArrayPool<byte>.Shared.Rent(partSize);
            bytes.CopyTo(_copies.AsSpan(at));
            Lend(at, _copies.AsMemory(at, bytes.Length));
        }

        /// <summary>
        /// The part's first <paramref name="length"/> bytes as a request body: the pieces in order when
        /// they tile it, else (a part with holes, at a flush) one buffer where the holes read as zeros.
        /// </summary>
        public ReadOnlySequence<byte> Body(int length)
        {
            _pieces.Sort((a, b) => a.At.CompareTo(b.At));
            var next = 0;
            foreach (var (at, bytes) in _pieces)
            {
                if (at != next) break;
                next += bytes.Length;
            }
            if (next == length) return LentBytes.Sequence(_pieces.Select(p => p.Bytes).ToArray());
            _assembled = Contiguous(length);
            return new ReadOnlySequence<byte>(_assembled, 0, length);
        }

        /// <summary>The first <paramref name="length"/> bytes copied into one pooled buffer, holes as zeros; the caller returns it to the pool.</summary>
        public byte[] Contiguous(int length)
        {
            if (length == 0) return [];
            var buffer = ArrayPool<byte>.Shared.Rent(length);
            Array.Clear(buffer, 0, length);
            foreach (var (at, bytes) in _pieces)
                if (at < length) bytes.Span[..Math.Min(bytes.Length, length - at)].CopyTo(buffer.AsSpan(at));
            return buffer;
        }

        /// <summary>Gives the part's buffers back to the pool; lent pieces go back to their writer with the flush.</summary>
        public void Release()
        {
            if (_copies is not null) ArrayPool<byte>.Shared.Return(_copies);
            if (_assembled is not null) ArrayPool<byte>.Shared.Return(_assembled);
            _copies = _assembled = null;
            _pieces.Clear();
        }
    }
}

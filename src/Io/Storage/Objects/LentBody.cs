using System.Buffers;

namespace ActorCkpt;

/// <summary>
/// A request body that reads lent bytes where they are (a part sent straight from the staged
/// buffers): read-only and seekable, so the SDKs can hash it and rewind. The bytes go back to their
/// owner once the request is over, but an HTTP stack may still be sending a body after its request
/// failed (SocketsHttpHandler lets the send run on after an early response), so the sender calls
/// <see cref="RetireAsync"/> before it lets go of the bytes: it waits for a read in progress and
/// makes every later one throw instead of touching memory that may have been freed.
/// </summary>
internal sealed class LentBody(ReadOnlySequence<byte> bytes) : Stream
{
    private readonly object _gate = new();
    private long _position;
    private int _readers;
    private bool _retired;
    private TaskCompletionSource? _idle;

    /// <summary>
    /// Ends every use of the bytes: completes once no read is in progress, after which reads throw
    /// <see cref="ObjectDisposedException"/>.
    /// </summary>
    public Task RetireAsync()
    {
        lock (_gate)
        {
            _retired = true;
            if (_readers == 0) return Task.CompletedTask;
            _idle ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _idle.Task;
        }
    }

    /// <inheritdoc />
    public override int Read(Span<byte> buffer)
    {
        Enter();
        try
        {
            var count = (int)Math.Min(buffer.Length, bytes.Length - _position);
            if (count <= 0) return 0;
            bytes.Slice(_position, count).CopyTo(buffer);
            _position += count;
            return count;
        }
        finally
        {
            Exit();
        }
    }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        cancellationToken.IsCancellationRequested ? ValueTask.FromCanceled<int>(cancellationToken) : ValueTask.FromResult(Read(buffer.Span));

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    /// <remarks>Writes the bytes from where they lie, a piece at a time, with no buffer between (as a MemoryStream does).</remarks>
    public override async Task CopyToAsync(Stream destination, int bufferSize, CancellationToken cancellationToken)
    {
        while (_position < bytes.Length)
        {
            Enter();
            try
            {
                var piece = bytes.Slice(_position).First;
                await destination.WriteAsync(piece, cancellationToken).ConfigureAwait(false);
                _position += piece.Length;
            }
            finally
            {
                Exit();
            }
        }
    }

    /// <inheritdoc />
    public override void CopyTo(Stream destination, int bufferSize)
    {
        while (_position < bytes.Length)
        {
            Enter();
            try
            {
                var piece = bytes.Slice(_position).First;
                destination.Write(piece.Span);
                _position += piece.Length;
            }
            finally
            {
                Exit();
            }
        }
    }

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin)
    {
        Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            SeekOrigin.End => bytes.Length + offset,
            _ => throw new ArgumentOutOfRangeException(nameof(origin)),
        };
        return _position;
    }

    /// <inheritdoc />
    public override long Position
    {
        get => _position;
        set => _position = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "must not be negative");
    }

    /// <inheritdoc />
    public override long Length => bytes.Length;

    /// <inheritdoc />
    public override bool CanRead => true;

    /// <inheritdoc />
    public override bool CanSeek => true;

    /// <inheritdoc />
    public override bool CanWrite => false;

    /// <inheritdoc />
    public override void Flush()
    {
    }

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc />
    /// <remarks>A body disposed by the SDK that sent it is retired too, without waiting.</remarks>
    protected override void Dispose(bool disposing)
    {
        lock (_gate) _retired = true;
        base.Dispose(disposing);
    }

    private void Enter()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_retired, this);
            _readers++;
        }
    }

    private void Exit()
    {
        lock (_gate)
        {
            if (--_readers == 0) _idle?.TrySetResult();
        }
    }
}

using System.Buffers;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.IO.Hashing;
using System.Text;
using System.Threading.Channels;

namespace ActorCkpt;

/// <summary>
/// One connection of the bulk channel, either side: frames over a stream (TCP, or TLS over it), one
/// transfer at a time. The side that sends data sends frames from the caller's memory (no copy) and
/// keeps at most the window unconsumed; the side that receives checks each frame's checksum before
/// the bytes go anywhere and grants credit as it consumes, so its buffers never exceed a few frames
/// (one for a fetch, the read-ahead for a push). Any fault of the connection is a
/// <see cref="BulkChannelException"/> naming the peer (a push's sink's own fault passes as it is);
/// after one the connection is closed, never reused.
/// </summary>
internal sealed class BulkConnection : IAsyncDisposable
{
    private readonly Stream _stream;
    private readonly byte[] _header = new byte[BulkFrame.HeaderLength];
    // Apart from the read side's: a pipelined receive writes credit while it reads the next frame.
    private readonly byte[] _writeHeader = new byte[BulkFrame.HeaderLength];
    private readonly byte[] _control = new byte[BulkFrame.MaxControlPayload];
    private readonly BulkChannelSettings _settings;

    /// <summary>Wraps <paramref name="stream"/>, connected to <paramref name="peer"/>.</summary>
    public BulkConnection(Stream stream, string peer, BulkChannelSettings settings)
    {
        _stream = stream;
        Peer = peer;
        _settings = settings;
    }

    /// <summary>The other side, for messages.</summary>
    public string Peer { get; }

    /// <summary>False once a transfer on it failed: it must be closed, not reused.</summary>
    public bool Reusable { get; private set; } = true;

    /// <summary>When it last finished a transfer (a <see cref="Stopwatch"/> timestamp), for the pool's idle limit.</summary>
    public long LastUsed { get; private set; } = Stopwatch.GetTimestamp();

    /// <summary>
    /// Writes a frame and its payload. A peer that takes none of it within the idle timeout (its host
    /// gone, or its side stuck with the window shut) fails the transfer then, not when TCP gives up.
    /// </summary>
    public async ValueTask WriteAsync(BulkFrameKind kind, long position, ReadOnlyMemory<byte> payload = default, ulong checksum = 0, CancellationToken cancellation = default)
    {
        new BulkFrame(kind, payload.Length, position, checksum).Write(_writeHeader);
        using var bound = IdleBound(cancellation);
        try
        {
            await _stream.WriteAsync(_writeHeader, bound.Token).ConfigureAwait(false);
            if (!payload.IsEmpty) await _stream.WriteAsync(payload, bound.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
        {
            throw Stalled("the peer took nothing");
        }
    }

    /// <summary>Reads a data frame's payload into <paramref name="target"/>, failing once nothing came for the idle timeout.</summary>
    private async ValueTask ReadPayloadAsync(Memory<byte> target, CancellationToken cancellation)
    {
        using var bound = IdleBound(cancellation);
        try
        {
            await _stream.ReadExactlyAsync(target, bound.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
        {
            throw Stalled("nothing heard");
        }
    }

    /// <summary><paramref name="cancellation"/>, and the idle timeout from now.</summary>
    private CancellationTokenSource IdleBound(CancellationToken cancellation)
    {
        var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        bound.CancelAfter(_settings.IdleTimeout);
        return bound;
    }

    /// <summary>A read or write that made no progress within the idle timeout: the connection is done.</summary>
    private BulkChannelException Stalled(string what)
    {
        Reusable = false;
        return new BulkChannelException($"bulk channel to {Peer}: {what} for {_settings.IdleTimeout.TotalSeconds:0.#} s");
    }

    /// <summary>Writes <see cref="BulkFrameKind.Failed"/> with <paramref name="reason"/>, ignoring a connection already gone.</summary>
    public async ValueTask TryFailAsync(string reason)
    {
        Reusable = false;
        try
        {
            var bytes = Encoding.UTF8.GetBytes(reason.Length > 1000 ? reason[..1000] : reason);
            using var timeout = new CancellationTokenSource(_settings.ConnectTimeout);
            await WriteAsync(BulkFrameKind.Failed, 0, bytes, cancellation: timeout.Token).ConfigureAwait(false);
            await _stream.FlushAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The connection is closed next either way.
        }
    }

    /// <summary>
    /// Reads and drops whatever the peer still sends, until it closes the connection or
    /// <paramref name="patience"/> passes: after <see cref="TryFailAsync"/>, closing at once with
    /// unread bytes would reset the connection, and the peer could lose the Failed frame with it.
    /// </summary>
    public async ValueTask DrainAsync(TimeSpan patience)
    {
        var scratch = ArrayPool<byte>.Shared.Rent(64 << 10);
        try
        {
            using var giveUp = new CancellationTokenSource(patience);
            while (await _stream.ReadAsync(scratch, giveUp.Token).ConfigureAwait(false) > 0)
            {
            }
        }
        catch (Exception)
        {
            // Closed, reset or silent: it is closed next either way.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    /// <summary>
    /// Reads the next frame's header, and a control frame's payload (in a buffer valid until the next
    /// read). Waits at most the idle timeout, or forever when <paramref name="idle"/> is false (a
    /// connection between transfers). A <see cref="BulkFrameKind.Failed"/> from the peer is thrown.
    /// </summary>
    public async ValueTask<(BulkFrame Frame, ReadOnlyMemory<byte> Payload)> ReadAsync(CancellationToken cancellation, bool idle = true, bool firstByteRead = false)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        if (idle) timeout.CancelAfter(_settings.IdleTimeout);
        try
        {
            await _stream.ReadExactlyAsync(_header.AsMemory(firstByteRead ? 1 : 0), timeout.Token).ConfigureAwait(false);
            var frame = BulkFrame.Read(_header, _settings.FrameSize, Peer);
            if (frame.Kind == BulkFrameKind.Data) return (frame, ReadOnlyMemory<byte>.Empty);
            var payload = _control.AsMemory(0, frame.Length);
            await _stream.ReadExactlyAsync(payload, timeout.Token).ConfigureAwait(false);
            if (frame.Kind == BulkFrameKind.Failed)
                throw new BulkChannelException($"{Peer} gave up the transfer: {Printable(Encoding.UTF8.GetString(payload.Span))}");
            return (frame, payload);
        }
        catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
        {
            Reusable = false;
            throw new BulkChannelException($"bulk channel to {Peer}: nothing heard for {_settings.IdleTimeout.TotalSeconds:0.#} s");
        }
        catch (EndOfStreamException e)
        {
            Reusable = false;
            throw new BulkChannelException($"bulk channel to {Peer}: connection closed", e);
        }
        catch (IOException e)
        {
            Reusable = false;
            throw new BulkChannelException($"bulk channel to {Peer}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Reads the frame that opens the next transfer, or null when the peer closed the connection or
    /// stayed silent for the idle timeout (a connection at rest, not a failed transfer).
    /// </summary>
    public async ValueTask<(BulkFrame Frame, ReadOnlyMemory<byte> Payload)?> ReadBetweenTransfersAsync(CancellationToken cancellation)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        timeout.CancelAfter(_settings.IdleTimeout);
        try
        {
            await _stream.ReadExactlyAsync(_header.AsMemory(0, 1), timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is EndOfStreamException or IOException || (e is OperationCanceledException && !cancellation.IsCancellationRequested))
        {
            Reusable = false;
            return null;
        }
        return await ReadAsync(cancellation, firstByteRead: true).ConfigureAwait(false);
    }

    /// <summary>Reads a frame that must be of kind <paramref name="kind"/> (a protocol error otherwise).</summary>
    public async ValueTask<(BulkFrame Frame, ReadOnlyMemory<byte> Payload)> ExpectAsync(BulkFrameKind kind, CancellationToken cancellation)
    {
        var (frame, payload) = await ReadAsync(cancellation).ConfigureAwait(false);
        if (frame.Kind != kind)
        {
            Reusable = false;
            throw new BulkChannelException($"bulk channel to {Peer}: expected {kind}, got {frame.Kind}");
        }
        return (frame, payload);
    }

    /// <summary>
    /// Sends the <paramref name="length"/> bytes of <paramref name="pieces"/> as data frames, then
    /// <see cref="BulkFrameKind.End"/>, and waits for <see cref="BulkFrameKind.Done"/>. At most the
    /// window is ever sent and not yet consumed: past it, the sender waits for credit.
    /// </summary>
    public async Task SendAsync(IEnumerable<ReadOnlyMemory<byte>> pieces, long length, BulkTransferProbe? probe, CancellationToken cancellation, BulkSendFaults? faults = null)
    {
        long sent = 0, consumed = 0, started = 0;
        try
        {
            foreach (var piece in pieces)
            {
                for (var at = 0; at < piece.Length;)
                {
                    var frame = piece.Slice(at, Math.Min(_settings.FrameSize, piece.Length - at));
                    if (sent + frame.Length > length)
                        throw new BulkChannelException($"bulk channel to {Peer}: the sender has more than the {length} bytes it announced");
                    while (sent + frame.Length - consumed > _settings.Window)
                    {
                        probe?.WaitingForCredit();
                        consumed = Credit(await ReadAsync(cancellation).ConfigureAwait(false), sent, consumed);
                    }
                    if (started == 0) started = Stopwatch.GetTimestamp();
                    var checksum = XxHash3.HashToUInt64(frame.Span);
                    if (faults is not null) frame = Inject(faults, frame);
                    await WriteAsync(BulkFrameKind.Data, sent, frame, checksum, cancellation).ConfigureAwait(false);
                    sent += frame.Length;
                    at += frame.Length;
                    probe?.Sent(frame.Length);
                }
            }
            if (sent != length) throw new BulkChannelException($"bulk channel to {Peer}: the sender had {sent} of the {length} bytes it announced");
            if (started == 0) started = Stopwatch.GetTimestamp();
            await WriteAsync(BulkFrameKind.End, length, cancellation: cancellation).ConfigureAwait(false);
            await _stream.FlushAsync(cancellation).ConfigureAwait(false);
            // The receiver fsyncs the file before it answers: allow it ten idle timeouts, not one.
            using var done = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            done.CancelAfter(_settings.IdleTimeout * 10);
            while (true)
            {
                (BulkFrame Frame, ReadOnlyMemory<byte>) read;
                try
                {
                    read = await ReadAsync(done.Token, idle: false).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
                {
                    throw new BulkChannelException($"bulk channel to {Peer}: no answer within {(_settings.IdleTimeout * 10).TotalSeconds:0.#} s after the last byte");
                }
                var frame = read.Frame;
                if (frame.Kind == BulkFrameKind.Done)
                {
                    if (frame.Position != length) throw new BulkChannelException($"bulk channel to {Peer}: done at {frame.Position} of {length} bytes");
                    break;
                }
                consumed = Credit(read, sent, consumed);
            }
            LastUsed = Stopwatch.GetTimestamp();
            if (probe is not null) (probe.StartedAt, probe.EndedAt) = (started, LastUsed);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            Reusable = false;
            throw new BulkChannelException($"bulk channel to {Peer}: {e.Message}", e);
        }
        catch
        {
            Reusable = false;
            throw;
        }
    }

    /// <summary>A test's fault on the frame about to go out: a copy with one bit flipped, or the connection cut.</summary>
    private ReadOnlyMemory<byte> Inject(BulkSendFaults faults, ReadOnlyMemory<byte> frame)
    {
        if (faults.DropNext())
        {
            _stream.Dispose();
            throw new IOException("connection cut by fault injection");
        }
        if (frame.IsEmpty || !faults.CorruptNext()) return frame;
        var copy = frame.ToArray();
        copy[copy.Length / 2] ^= 0x01;
        return copy;
    }

    private long Credit((BulkFrame Frame, ReadOnlyMemory<byte> _) read, long sent, long consumed)
    {
        var frame = read.Frame;
        if (frame.Kind != BulkFrameKind.Credit)
        {
            Reusable = false;
            throw new BulkChannelException($"bulk channel to {Peer}: expected Credit or Done, got {frame.Kind}");
        }
        if (frame.Position < consumed || frame.Position > sent)
        {
            Reusable = false;
            throw new BulkChannelException($"bulk channel to {Peer}: credit for {frame.Position} bytes, but {sent} were sent and {consumed} consumed");
        }
        return frame.Position;
    }

    /// <summary>
    /// Receives a transfer of <paramref name="destination"/>'s length into it: each data frame is read
    /// straight into its place and checked against its checksum there; credit goes back as frames
    /// land. Returns once <see cref="BulkFrameKind.End"/> came after every byte; the caller then
    /// answers <see cref="BulkFrameKind.Done"/> (see <see cref="AcknowledgeAsync"/>). A push into a
    /// sink uses <see cref="ReceivePipelinedAsync"/> instead. Each checked frame goes into
    /// <paramref name="frames"/> when given, in order.
    /// </summary>
    public async Task ReceiveIntoAsync(Memory<byte> destination, CancellationToken cancellation, ICollection<CheckedFrame>? frames = null)
    {
        long length = destination.Length, received = 0, credited = 0;
        var creditEvery = CreditEvery;
        try
        {
            while (true)
            {
                var (frame, _) = await ReadAsync(cancellation).ConfigureAwait(false);
                if (frame.Kind == BulkFrameKind.End)
                {
                    if (frame.Position != length || received != length)
                        throw new BulkChannelException($"bulk channel from {Peer}: transfer ended at {received} of {length} bytes");
                    LastUsed = Stopwatch.GetTimestamp();
                    return;
                }
                CheckDataFrame(frame, received, length);
                var target = destination.Slice((int)frame.Position, frame.Length);
                await ReadPayloadAsync(target, cancellation).ConfigureAwait(false);
                CheckChecksum(frame, target.Span);
                frames?.Add(new CheckedFrame(frame.Position, frame.Length, frame.Checksum));
                received += frame.Length;
                if (received - credited >= creditEvery && received < length)
                {
                    await WriteAsync(BulkFrameKind.Credit, received, cancellation: cancellation).ConfigureAwait(false);
                    credited = received;
                }
            }
        }
        catch (Exception e) when (e is IOException or EndOfStreamException or ObjectDisposedException)
        {
            Reusable = false;
            throw new BulkChannelException($"bulk channel from {Peer}: {e.Message}", e);
        }
        catch
        {
            Reusable = false;
            throw;
        }
    }

    /// <summary>
    /// Receives a transfer of <paramref name="length"/> bytes into buffers of its own and hands each
    /// checked frame to <paramref name="consume"/> on another task, so that reading the socket and
    /// checking frames overlaps with consuming them (a file write): up to <paramref name="depth"/>
    /// frames are read ahead, never more, and credit goes back only as frames are consumed. A frame
    /// that fails its check is never consumed; those checked before it are. Returns once
    /// <see cref="BulkFrameKind.End"/> came after every byte and every frame was consumed.
    /// </summary>
    public async Task ReceivePipelinedAsync(long length, Action<long, ReadOnlyMemory<byte>> consume, int depth, CancellationToken cancellation)
    {
        var free = Channel.CreateBounded<byte[]>(depth);
        var filled = Channel.CreateBounded<(long Position, byte[] Buffer, int Length)>(depth);
        var buffers = Enumerable.Range(0, depth).Select(_ => ArrayPool<byte>.Shared.Rent(_settings.FrameSize)).ToArray();
        foreach (var b in buffers) free.Writer.TryWrite(b);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var creditEvery = CreditEvery;
        // What the sink itself threw (a full disk, say): the transfer's cause as it is, not a channel fault.
        ExceptionDispatchInfo? sinkFault = null;
        var consumer = Task.Run(async () =>
        {
            try
            {
                long credited = 0;
                await foreach (var (position, buffer, n) in filled.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
                {
                    try
                    {
                        consume(position, buffer.AsMemory(0, n));
                    }
                    catch (Exception e)
                    {
                        sinkFault = ExceptionDispatchInfo.Capture(e);
                        throw;
                    }
                    free.Writer.TryWrite(buffer);
                    var consumed = position + n;
                    if (consumed - credited >= creditEvery && consumed < length)
                    {
                        try
                        {
                            await WriteAsync(BulkFrameKind.Credit, consumed, cancellation: stop.Token).ConfigureAwait(false);
                        }
                        catch (Exception e) when (e is IOException or ObjectDisposedException)
                        {
                            throw Wrapped(e);
                        }
                        credited = consumed;
                    }
                }
            }
            catch
            {
                // The reader stops at once rather than reading into buffers nobody will take.
                stop.Cancel();
                throw;
            }
        }, CancellationToken.None);
        try
        {
            long received = 0;
            while (true)
            {
                var (frame, _) = await ReadAsync(stop.Token).ConfigureAwait(false);
                if (frame.Kind == BulkFrameKind.End)
                {
                    if (frame.Position != length || received != length)
                        throw new BulkChannelException($"bulk channel from {Peer}: transfer ended at {received} of {length} bytes");
                    break;
                }
                CheckDataFrame(frame, received, length);
                var buffer = await free.Reader.ReadAsync(stop.Token).ConfigureAwait(false);
                var target = buffer.AsMemory(0, frame.Length);
                await ReadPayloadAsync(target, stop.Token).ConfigureAwait(false);
                CheckChecksum(frame, target.Span);
                await filled.Writer.WriteAsync((frame.Position, buffer, frame.Length), stop.Token).ConfigureAwait(false);
                received += frame.Length;
            }
            filled.Writer.Complete();
            await consumer.ConfigureAwait(false);
            LastUsed = Stopwatch.GetTimestamp();
        }
        catch (Exception e)
        {
            Reusable = false;
            filled.Writer.TryComplete();
            // The frames checked before the fault are still consumed (the consumer drains them).
            Exception? consumerFault = null;
            try
            {
                await consumer.ConfigureAwait(false);
            }
            catch (Exception fault)
            {
                consumerFault = fault;
            }
            // The sink's fault wins, whenever it came; then the consumer's, when it is why the reader stopped.
            sinkFault?.Throw();
            if (consumerFault is not null && e is OperationCanceledException && !cancellation.IsCancellationRequested)
                ExceptionDispatchInfo.Throw(consumerFault);
            if (Wrapped(e) is var wrapped && wrapped != e) throw wrapped;
            ExceptionDispatchInfo.Throw(e);
        }
        finally
        {
            foreach (var b in buffers) ArrayPool<byte>.Shared.Return(b);
        }
    }

    private Exception Wrapped(Exception e) => e switch
    {
        // .NET says "Unable to read beyond the end of the stream".
        EndOfStreamException => new BulkChannelException($"bulk channel from {Peer}: connection closed in the middle of a frame", e),
        IOException or ObjectDisposedException => new BulkChannelException($"bulk channel from {Peer}: {e.Message}", e),
        _ => e,
    };

    private void CheckDataFrame(BulkFrame frame, long received, long length)
    {
        if (frame.Kind != BulkFrameKind.Data)
            throw new BulkChannelException($"bulk channel from {Peer}: expected Data or End, got {frame.Kind}");
        // No sender of ours sends an empty data frame; a peer that does would only make progress look made.
        if (frame.Length == 0)
            throw new BulkChannelException($"bulk channel from {Peer}: empty data frame at {frame.Position}");
        if (frame.Position != received || frame.Length > length - received)
            throw new BulkChannelException($"bulk channel from {Peer}: data at {frame.Position}+{frame.Length} does not follow the {received} bytes received of {length}");
    }

    private void CheckChecksum(BulkFrame frame, ReadOnlySpan<byte> bytes)
    {
        if (XxHash3.HashToUInt64(bytes) != frame.Checksum)
            throw new BulkChannelException($"bulk channel from {Peer}: data frame at {frame.Position} ({frame.Length} bytes) arrived corrupted (checksum mismatch)");
    }

    /// <summary>
    /// Credit a quarter of the window at a time, but never so late that a sender with a full frame
    /// to go and a window of less than two frames waits for credit that never comes (0: after every frame).
    /// </summary>
    private long CreditEvery => Math.Min(Math.Max(_settings.FrameSize, _settings.Window / 4), _settings.Window - _settings.FrameSize);

    /// <summary>Tells the sender every byte of the transfer of <paramref name="length"/> bytes is in and handed over.</summary>
    public async ValueTask AcknowledgeAsync(long length, CancellationToken cancellation)
    {
        await WriteAsync(BulkFrameKind.Done, length, cancellation: cancellation).ConfigureAwait(false);
        await _stream.FlushAsync(cancellation).ConfigureAwait(false);
    }

    /// <summary>A peer's text as it may go into a log: one line, no control characters, at most 300 characters.</summary>
    internal static string Printable(string text)
    {
        var clean = new string(text.Select(c => char.IsControl(c) ? ' ' : c).Take(300).ToArray());
        return text.Length > 300 ? clean + "…" : clean;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        Reusable = false;
        try
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Closing a connection that already broke.
        }
    }
}

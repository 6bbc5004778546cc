using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Security;
using System.Net.Sockets;

namespace ActorCkpt;

/// <summary>
/// A node's sending and fetching end of the bulk channel: transfers to and from other nodes' bulk
/// servers over connections kept for reuse (at most <see cref="BulkChannelSettings.ConnectionsPerPeer"/>
/// idle ones per peer; a connection serves one transfer at a time, and one that failed is closed).
/// Thread-safe.
/// </summary>
internal sealed class BulkClient : IAsyncDisposable
{
    private readonly BulkChannelSettings _settings;
    private readonly ConcurrentDictionary<string, ConcurrentQueue<BulkConnection>> _idle = new(StringComparer.Ordinal);
    // Push spans since the last TakePushActivity, for the bench; at most SpansKept, later ones folded into the last.
    private const int SpansKept = 1024;
    private readonly object _activityGate = new();
    private readonly List<long> _starts = new(), _ends = new();
    private long _pushes, _pushedBytes;
    private long _opened;
    private volatile bool _disposed;

    /// <summary>Creates the client.</summary>
    public BulkClient(BulkChannelSettings settings) => _settings = settings.Validate();

    /// <summary>Faults to inject into the frames this client sends (tests); null for none.</summary>
    public BulkSendFaults? Faults { get; set; }

    /// <summary>Connections opened so far (reuse keeps this low).</summary>
    public long ConnectionsOpened => Interlocked.Read(ref _opened);

    /// <summary>The pushes completed since the last call, and starts counting anew (for the bench; see <see cref="Record"/>).</summary>
    public BulkActivity TakePushActivity()
    {
        lock (_activityGate)
        {
            var taken = new BulkActivity(_pushes, _pushedBytes, _starts.ToArray(), _ends.ToArray());
            (_pushes, _pushedBytes) = (0, 0);
            _starts.Clear();
            _ends.Clear();
            return taken;
        }
    }

    /// <summary>
    /// Counts a push for <see cref="TakePushActivity"/>. Nobody may ever take it (only the bench
    /// does): past <see cref="SpansKept"/> spans, a push widens the last one instead of adding its own,
    /// so the record stays small (its busy time then counts the gaps between those pushes too).
    /// </summary>
    private void Record(long bytes, long start, long end)
    {
        lock (_activityGate)
        {
            _pushes++;
            _pushedBytes += bytes;
            if (_starts.Count < SpansKept)
            {
                _starts.Add(start);
                _ends.Add(end);
                return;
            }
            _starts[^1] = Math.Min(_starts[^1], start);
            _ends[^1] = Math.Max(_ends[^1], end);
        }
    }

    /// <summary>
    /// Pushes the <paramref name="length"/> bytes of <paramref name="pieces"/> (enumerated as they are
    /// sent, never copied) to the server at <paramref name="endpoint"/> with <paramref name="token"/>;
    /// completes when the receiver has every byte, checked and handed to its sink.
    /// </summary>
    public async Task PushAsync(string endpoint, TransferToken token, long length, IEnumerable<ReadOnlyMemory<byte>> pieces,
        BulkTransferProbe? probe = null, CancellationToken cancellation = default)
    {
        probe ??= new BulkTransferProbe();
        var connection = await OpenAsync(endpoint, BulkFrameKind.Push, token, length, cancellation).ConfigureAwait(false);
        try
        {
            await connection.SendAsync(pieces, length, probe, cancellation, Faults).ConfigureAwait(false);
            Record(length, probe.StartedAt, probe.EndedAt);
        }
        finally
        {
            await ReturnAsync(endpoint, connection).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Fetches the transfer offered with <paramref name="token"/> at <paramref name="endpoint"/>,
    /// straight into <paramref name="destination"/> (whose length must be the transfer's); every frame
    /// is checked where it landed before the next is read, and goes into <paramref name="frames"/> when given.
    /// </summary>
    public async Task FetchAsync(string endpoint, TransferToken token, Memory<byte> destination, CancellationToken cancellation = default, ICollection<CheckedFrame>? frames = null)
    {
        var connection = await OpenAsync(endpoint, BulkFrameKind.Fetch, token, destination.Length, cancellation).ConfigureAwait(false);
        try
        {
            await connection.ReceiveIntoAsync(destination, cancellation, frames).ConfigureAwait(false);
            await connection.AcknowledgeAsync(destination.Length, cancellation).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // Also marks the connection not to be reused.
            await connection.TryFailAsync(e.Message).ConfigureAwait(false);
            throw;
        }
        finally
        {
            await ReturnAsync(endpoint, connection).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A connection to <paramref name="endpoint"/> with the transfer opened and accepted. A kept
    /// connection the server closed while it sat idle fails at this first exchange; then the open is
    /// made once more on a new connection.
    /// </summary>
    private async Task<BulkConnection> OpenAsync(string endpoint, BulkFrameKind kind, TransferToken token, long length, CancellationToken cancellation)
    {
        var token16 = new byte[TransferToken.Length];
        token.Write(token16);
        while (true)
        {
            var (connection, kept) = await TakeAsync(endpoint, cancellation).ConfigureAwait(false);
            BulkFrame answer;
            string reason;
            try
            {
                await connection.WriteAsync(kind, length, token16, cancellation: cancellation).ConfigureAwait(false);
                var (frame, payload) = await connection.ReadAsync(cancellation).ConfigureAwait(false);
                (answer, reason) = (frame, System.Text.Encoding.UTF8.GetString(payload.Span));
            }
            catch (Exception e) when (kept && !cancellation.IsCancellationRequested && e is BulkChannelException or IOException or ObjectDisposedException)
            {
                // A kept connection the server closed while it sat idle. Had the server read the
                // token, it would have answered on this connection; try once more on a new one.
                await connection.DisposeAsync().ConfigureAwait(false);
                continue;
            }
            catch
            {
                await connection.DisposeAsync().ConfigureAwait(false);
                throw;
            }
            var verb = kind.ToString().ToLowerInvariant();
            var fault = answer.Kind switch
            {
                BulkFrameKind.Refused => $"bulk channel: {endpoint} refused the {verb}: {reason}",
                BulkFrameKind.Accepted when answer.Position != length => $"bulk channel: {endpoint} offers {answer.Position} bytes for the {verb}, {length} expected",
                BulkFrameKind.Accepted => null,
                _ => $"bulk channel: {endpoint} answered {answer.Kind} to a {verb}",
            };
            if (fault is null) return connection;
            await connection.DisposeAsync().ConfigureAwait(false);
            throw new BulkChannelException(fault);
        }
    }

    private async Task<(BulkConnection Connection, bool Kept)> TakeAsync(string endpoint, CancellationToken cancellation)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_idle.TryGetValue(endpoint, out var queue))
            while (queue.TryDequeue(out var kept))
            {
                if (kept.Reusable && Stopwatch.GetElapsedTime(kept.LastUsed) < _settings.IdleTimeout / 2) return (kept, true);
                await kept.DisposeAsync().ConfigureAwait(false);
            }
        return (await ConnectAsync(endpoint, cancellation).ConfigureAwait(false), false);
    }

    private const string TlsAlike = "actorckpt.transfer.channel.tls.enabled must be the same on every node";

    private async Task<BulkConnection> ConnectAsync(string endpoint, CancellationToken cancellation)
    {
        var (host, port) = ParseEndpoint(endpoint);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        timeout.CancelAfter(_settings.ConnectTimeout);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        Stream? stream = null;
        try
        {
            BulkSockets.Configure(socket, _settings);
            await socket.ConnectAsync(host, port, timeout.Token).ConfigureAwait(false);
            stream = new NetworkStream(socket, ownsSocket: true);
            if (_settings.Tls is { } tls)
            {
                var secure = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = secure;
                try
                {
                    await secure.AuthenticateAsClientAsync(BulkTls.ClientOptions(tls, host), timeout.Token).ConfigureAwait(false);
                }
                catch (IOException closed)
                {
                    // A server with TLS off reads the handshake as a frame of no protocol and hangs up; so does a node going away.
                    throw new BulkChannelException($"bulk channel: cannot connect to {endpoint}: it closed the connection during the TLS handshake ({closed.Message}): "
                        + $"its node is stopping or gone, or it has TLS off where this node has it on; {TlsAlike}", closed);
                }
            }
            var connection = new BulkConnection(stream, endpoint, _settings);
            await connection.WriteAsync(BulkFrameKind.Hello, BulkFrame.ProtocolVersion, cancellation: timeout.Token).ConfigureAwait(false);
            (BulkFrame Frame, ReadOnlyMemory<byte> Payload) answer;
            try
            {
                answer = await connection.ReadAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (BulkChannelException closed) when (_settings.Tls is null && closed.InnerException is EndOfStreamException or IOException)
            {
                // A server with TLS on reads the hello as a failed handshake and hangs up; so does a node going away (the two look alike from here).
                throw new BulkChannelException($"bulk channel: cannot connect to {endpoint}: it closed the connection at the hello: "
                    + $"its node is stopping or gone, or it has TLS on where this node has it off; {TlsAlike}", closed);
            }
            var (hello, _) = answer;
            if (hello.Kind != BulkFrameKind.Hello || hello.Position != BulkFrame.ProtocolVersion)
                throw new BulkChannelException($"bulk channel: {endpoint} answered {hello.Kind} {hello.Position} to Hello {BulkFrame.ProtocolVersion}");
            Interlocked.Increment(ref _opened);
            return connection;
        }
        catch (Exception e)
        {
            if (stream is not null) await stream.DisposeAsync().ConfigureAwait(false);
            else socket.Dispose();
            if (e is BulkChannelException) throw;
            if (e is OperationCanceledException && cancellation.IsCancellationRequested) throw;
            throw new BulkChannelException($"bulk channel: cannot connect to {endpoint}: {(e is OperationCanceledException ? $"no answer within {_settings.ConnectTimeout.TotalSeconds:0.#} s" : e.Message)}", e);
        }
    }

    private async ValueTask ReturnAsync(string endpoint, BulkConnection connection)
    {
        if (!_disposed && connection.Reusable)
        {
            var queue = _idle.GetOrAdd(endpoint, _ => new ConcurrentQueue<BulkConnection>());
            if (queue.Count < _settings.ConnectionsPerPeer)
            {
                queue.Enqueue(connection);
                // A dispose that emptied the queues meanwhile would never close this one: take it back.
                if (!_disposed || !queue.TryDequeue(out var late)) return;
                await late.DisposeAsync().ConfigureAwait(false);
                return;
            }
        }
        await connection.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>"host:port" as its parts; one clear line when it is not that.</summary>
    public static (string Host, int Port) ParseEndpoint(string endpoint)
    {
        var colon = endpoint.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(endpoint.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            throw new ArgumentException($"bulk channel endpoint '{endpoint}' is not host:port");
        return (endpoint[..colon].Trim('[', ']'), port);
    }

    /// <summary>Closes every kept connection.</summary>
    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        foreach (var queue in _idle.Values)
            while (queue.TryDequeue(out var connection))
                await connection.DisposeAsync().ConfigureAwait(false);
    }
}

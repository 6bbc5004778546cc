using System.Buffers;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;

namespace ActorCkpt;

/// <summary>
/// A node's end of the bulk channel: listens for connections from other nodes and serves the
/// transfers it was told to expect. A push is admitted only with a token expected for it
/// (<see cref="ExpectPush"/>), a fetch only with a token offered for it (<see cref="OfferFetch"/>);
/// anything else is refused before a byte reaches a sink, and the connection closed. Each connection
/// runs one transfer at a time; a push holds at most 4 frames (the one its sink is writing and those
/// read ahead, within the window), a fetch sends from one frame's buffer, whatever the transfer's size.
/// </summary>
internal sealed class BulkServer : IAsyncDisposable
{
    /// <summary>How long the accept loop waits after a failed accept before it tries again.</summary>
    private static readonly TimeSpan AcceptRetryDelay = TimeSpan.FromMilliseconds(100);
    private readonly BulkChannelSettings _settings;
    private readonly Socket _listener;
    private readonly X509Certificate2? _certificate;
    private readonly TransferAdmission<object> _admission;
    private readonly Timer _sweeper;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _accepting;
    private readonly Action<string> _log;
    private readonly HashSet<Task> _connections = new();
    private long _refused, _failed, _pushes, _pushedBytes, _fetches, _fetchedBytes;

    private BulkServer(BulkChannelSettings settings, Action<string>? log)
    {
        _settings = settings.Validate();
        _log = log ?? (_ => { });
        _admission = new TransferAdmission<object>(Expired);
        if (settings.Tls is { } tls) _certificate = BulkTls.LoadCertificate(tls);
        _listener = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            _listener.Bind(new IPEndPoint(Address(settings.BindHost), settings.Port));
            _listener.Listen(64);
        }
        catch
        {
            _listener.Dispose();
            throw;
        }
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        Endpoint = $"{settings.PublicHost ?? settings.BindHost}:{Port}";
        _accepting = Task.Run(AcceptAsync);
        _sweeper = new Timer(_ => _admission.Sweep(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    /// <summary>A token expired unused: its push fails, its source is closed.</summary>
    private void Expired(object handler)
    {
        // On the sweeper's timer thread: nothing may escape it.
        try
        {
            (handler as PushAdmission)?.Fail(new BulkChannelException("the push was not made before its token expired"));
            (handler as ITransferSource)?.Dispose();
        }
        catch (Exception e)
        {
            _log($"bulk channel: closing an expired transfer failed: {e.Message}");
        }
    }

    /// <summary>The address <paramref name="host"/> names: itself when it is one, else its first IPv4 address (then IPv6) from DNS.</summary>
    private static IPAddress Address(string host)
    {
        if (IPAddress.TryParse(host, out var address)) return address;
        try
        {
            var found = Dns.GetHostAddresses(host);
            return found.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? found.First();
        }
        catch (Exception e) when (e is SocketException or ArgumentException or InvalidOperationException)
        {
            throw new ArgumentException($"actorckpt.transfer.channel.bind-host '{host}' is not an address and does not resolve to one: {e.Message}", e);
        }
    }

    /// <summary>Starts listening as <paramref name="settings"/> say; <paramref name="log"/> hears refusals and failed connections.</summary>
    public static BulkServer Start(BulkChannelSettings settings, Action<string>? log = null) => new(settings, log);

    /// <summary>The port it listens on.</summary>
    public int Port { get; }

    /// <summary>"host:port" other nodes connect to.</summary>
    public string Endpoint { get; }

    /// <summary>Transfers refused so far (bad token, or not a client of this protocol).</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Faults to inject into the frames this server sends when it serves a fetch, and transfers to refuse (tests); null for none.</summary>
    public BulkSendFaults? Faults { get; set; }

    /// <summary>Pushes that were admitted and then failed (corrupted, cut off, given up).</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Pushes received whole so far, and their bytes.</summary>
    public (long Transfers, long Bytes) Received => (Interlocked.Read(ref _pushes), Interlocked.Read(ref _pushedBytes));

    /// <summary>Fetches served whole so far, and their bytes.</summary>
    public (long Transfers, long Bytes) Served => (Interlocked.Read(ref _fetches), Interlocked.Read(ref _fetchedBytes));

    /// <summary>Connections open now.</summary>
    public int OpenConnections
    {
        get { lock (_connections) return _connections.Count; }
    }

    /// <summary>Tokens expected or offered and not yet used.</summary>
    public int Pending => _admission.Count;

    /// <summary>
    /// Expects a push of <paramref name="length"/> bytes with <paramref name="token"/> within
    /// <paramref name="ttl"/>, its bytes going to <paramref name="sink"/>. The task completes when the
    /// sink has completed and the sender was told (or fails with the transfer's fault). Cancelling
    /// <paramref name="cancellation"/> withdraws the token, or fails the transfer under way.
    /// </summary>
    public Task ExpectPush(TransferToken token, long length, ITransferSink sink, TimeSpan ttl, CancellationToken cancellation = default)
    {
        var push = new PushAdmission(length, sink, cancellation);
        _admission.Expect(token, push, ttl);
        if (cancellation.CanBeCanceled)
            cancellation.Register(() =>
            {
                if (_admission.Withdraw(token) is PushAdmission withdrawn) withdrawn.Fail(new OperationCanceledException("the push was given up before it began"));
            });
        return push.Outcome;
    }

    /// <summary>Offers <paramref name="source"/> to whoever fetches with <paramref name="token"/> within <paramref name="ttl"/>; it is disposed when the fetch ends or the token expires unused.</summary>
    public void OfferFetch(TransferToken token, ITransferSource source, TimeSpan ttl) => _admission.Expect(token, source, ttl);

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                // Out of file descriptors, say: the connection waits in the backlog, so retrying at
                // once would spin a core and flood the log until one frees.
                _log($"bulk channel: accept failed: {e.Message}");
                try
                {
                    await Task.Delay(AcceptRetryDelay, _stopping.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                continue;
            }
            var serving = Task.Run(() => ServeAsync(socket));
            lock (_connections) _connections.Add(serving);
            _ = serving.ContinueWith(t => { lock (_connections) _connections.Remove(t); }, TaskScheduler.Default);
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        var peer = "?";
        Stream? stream = null;
        BulkConnection? connection = null;
        try
        {
            peer = socket.RemoteEndPoint?.ToString() ?? "?";
            BulkSockets.Configure(socket, _settings);
            stream = new NetworkStream(socket, ownsSocket: true);
            if (_certificate is not null)
            {
                var tls = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = tls;
                using var handshake = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
                handshake.CancelAfter(_settings.ConnectTimeout);
                try
                {
                    await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = _certificate }, handshake.Token).ConfigureAwait(false);
                }
                // .NET says "The operation was canceled." and "Authentication failed, see inner exception.": the log names the cause.
                catch (OperationCanceledException) when (!_stopping.IsCancellationRequested)
                {
                    throw new BulkChannelException($"bulk channel from {peer}: no TLS handshake within {_settings.ConnectTimeout.TotalSeconds:0.#} s");
                }
                catch (System.Security.Authentication.AuthenticationException e)
                {
                    throw new BulkChannelException($"bulk channel from {peer}: TLS handshake failed: {e.InnerException?.Message ?? e.Message}" +
                                                   " (a client with TLS off, an older TLS version, or not a node of this job)", e);
                }
            }
            connection = new BulkConnection(stream, peer, _settings);
            // A peer has the connect timeout, not the idle one, to say who it is.
            using var greeting = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            greeting.CancelAfter(_settings.ConnectTimeout);
            (BulkFrame Frame, ReadOnlyMemory<byte>) greeted;
            try
            {
                greeted = await connection.ReadAsync(greeting.Token, idle: false).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!_stopping.IsCancellationRequested)
            {
                throw new BulkChannelException($"bulk channel from {peer}: no Hello within {_settings.ConnectTimeout.TotalSeconds:0.#} s");
            }
            var hello = greeted.Frame;
            if (hello.Kind != BulkFrameKind.Hello || hello.Position != BulkFrame.ProtocolVersion)
                throw new BulkChannelException($"bulk channel from {peer}: expected Hello of version {BulkFrame.ProtocolVersion}, got {hello.Kind} {hello.Position}");
            await connection.WriteAsync(BulkFrameKind.Hello, BulkFrame.ProtocolVersion, cancellation: _stopping.Token).ConfigureAwait(false);
            while (connection.Reusable && !_stopping.IsCancellationRequested)
            {
                // Between transfers a client keeps a connection at most half the idle timeout, so
                // one silent for the whole of it is abandoned (or a stranger's): close it quietly.
                var next = await connection.ReadBetweenTransfersAsync(_stopping.Token).ConfigureAwait(false);
                if (next is not var (open, payload)) return;
                if (open.Kind is not (BulkFrameKind.Push or BulkFrameKind.Fetch) || payload.Length != TransferToken.Length)
                    throw new BulkChannelException($"bulk channel from {peer}: expected Push or Fetch with a token, got {open.Kind} of {open.Length} bytes");
                var token = TransferToken.Read(payload.Span);
                var admitted = _admission.Redeem(token, out var refusal);
                var injected = admitted is not null && Faults?.RefuseNext() == true;
                if (!injected && admitted is PushAdmission push && open.Kind == BulkFrameKind.Push && open.Position == push.Length)
                    await ReceivePushAsync(connection, push).ConfigureAwait(false);
                else if (!injected && admitted is ITransferSource source && open.Kind == BulkFrameKind.Fetch)
                    await ServeFetchAsync(connection, source).ConfigureAwait(false);
                else
                {
                    if (injected) refusal = $"transfer {token} refused by an injected fault";
                    else if (admitted is not null) refusal = Mismatch(token, admitted, open);
                    Interlocked.Increment(ref _refused);
                    _log($"bulk channel: refused a {open.Kind} from {peer}: {refusal}");
                    (admitted as PushAdmission)?.Fail(new BulkChannelException($"a {open.Kind} from {peer} came with this push's token: {refusal}"));
                    (admitted as ITransferSource)?.Dispose();
                    await connection.WriteAsync(BulkFrameKind.Refused, 0, System.Text.Encoding.UTF8.GetBytes(refusal), cancellation: _stopping.Token).ConfigureAwait(false);
                    return;
                }
            }
        }
        catch (Exception e) when (e is BulkChannelException or IOException or SocketException or System.Security.Authentication.AuthenticationException
                                       or OperationCanceledException or ObjectDisposedException)
        {
            if (!_stopping.IsCancellationRequested) _log($"bulk channel: connection from {peer} closed: {e.Message}");
        }
        finally
        {
            if (connection is not null) await connection.DisposeAsync().ConfigureAwait(false);
            else if (stream is not null) await stream.DisposeAsync().ConfigureAwait(false);
            else socket.Dispose();
        }
    }

    private static string Mismatch(TransferToken token, object admitted, BulkFrame open) => admitted switch
    {
        PushAdmission push when open.Kind == BulkFrameKind.Push => $"transfer token {token} admits a push of {push.Length} bytes, not {open.Position}",
        PushAdmission => $"transfer token {token} admits a push, not a fetch",
        _ => $"transfer token {token} admits a fetch, not a push",
    };

    private async Task ReceivePushAsync(BulkConnection connection, PushAdmission push)
    {
        using var transfer = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token, push.Cancellation);
        try
        {
            await connection.WriteAsync(BulkFrameKind.Accepted, push.Length, cancellation: transfer.Token).ConfigureAwait(false);
            // The sink's writes (a file's) overlap with reading and checking the next frames.
            await connection.ReceivePipelinedAsync(push.Length, (at, bytes) => push.Sink.Write(at, bytes.Span), ReadAhead, transfer.Token).ConfigureAwait(false);
            push.Sink.Complete();
            await connection.AcknowledgeAsync(push.Length, transfer.Token).ConfigureAwait(false);
            Interlocked.Increment(ref _pushes);
            Interlocked.Add(ref _pushedBytes, push.Length);
            push.Succeed();
        }
        catch (Exception e)
        {
            Interlocked.Increment(ref _failed);
            await connection.TryFailAsync(e.Message).ConfigureAwait(false);
            push.Fail(e);
            // The sender may still be sending: read what it sends until it has heard why and closed,
            // so the connection is not reset under the Failed frame before the sender reads it.
            await connection.DrainAsync(_settings.ConnectTimeout).ConfigureAwait(false);
            throw new BulkChannelException($"push from {connection.Peer} failed: {e.Message}", e);
        }
    }

    /// <summary>Frames a push holds, its sink's included: up to 4, within the window.</summary>
    private int ReadAhead => (int)Math.Clamp(_settings.Window / _settings.FrameSize, 1, 4);

    private async Task ServeFetchAsync(BulkConnection connection, ITransferSource source)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(_settings.FrameSize);
        try
        {
            await connection.WriteAsync(BulkFrameKind.Accepted, source.Length, cancellation: _stopping.Token).ConfigureAwait(false);
            // Smaller frames when the source asks (one per stored block), never larger than the channel's.
            await connection.SendAsync(Pieces(source, buffer, _settings.FrameSize), source.Length, null, _stopping.Token, Faults).ConfigureAwait(false);
            Interlocked.Increment(ref _fetches);
            Interlocked.Add(ref _fetchedBytes, source.Length);
        }
        catch (Exception e)
        {
            // The fetching rank hears why (a disk error reading the range, say), not just a closed connection.
            await connection.TryFailAsync(e.Message).ConfigureAwait(false);
            throw new BulkChannelException($"fetch by {connection.Peer} failed: {e.Message}", e);
        }
        finally
        {
            source.Dispose();
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The source's bytes, a frame at a time as it cuts them (<see cref="ITransferSource.FrameLength"/>), each read into <paramref name="buffer"/> just before it is sent.</summary>
    private static IEnumerable<ReadOnlyMemory<byte>> Pieces(ITransferSource source, byte[] buffer, int channelFrameSize)
    {
        for (long at = 0; at < source.Length;)
        {
            var n = Math.Clamp(source.FrameLength(at, channelFrameSize), 1, (int)Math.Min(channelFrameSize, source.Length - at));
            source.Read(at, buffer.AsSpan(0, n));
            yield return buffer.AsMemory(0, n);
            at += n;
        }
    }

    /// <summary>Stops listening and closes every connection; transfers under way fail.</summary>
    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        await _sweeper.DisposeAsync().ConfigureAwait(false);
        _listener.Dispose();
        // Transfers expected or offered and never begun end with the server.
        foreach (var handler in _admission.Drain()) Expired(handler);
        await _accepting.ConfigureAwait(false);
        Task[] open;
        lock (_connections) open = _connections.ToArray();
        await Task.WhenAll(open).ConfigureAwait(false);
        _certificate?.Dispose();
        _stopping.Dispose();
    }

    /// <summary>A push expected: its length, its sink, and the task its expecter awaits.</summary>
    private sealed class PushAdmission(long length, ITransferSink sink, CancellationToken cancellation)
    {
        private readonly TaskCompletionSource _outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _ended;

        public long Length { get; } = length;
        public ITransferSink Sink { get; } = sink;
        public CancellationToken Cancellation { get; } = cancellation;
        public Task Outcome => _outcome.Task;

        public void Succeed()
        {
            if (Interlocked.Exchange(ref _ended, 1) == 0) _outcome.TrySetResult();
        }

        public void Fail(Exception cause)
        {
            if (Interlocked.Exchange(ref _ended, 1) != 0) return;
            try
            {
                Sink.Abort(cause);
            }
            finally
            {
                _outcome.TrySetException(cause);
            }
        }
    }
}

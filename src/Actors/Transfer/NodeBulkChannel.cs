using Akka.Actor;
using Akka.Event;

namespace ActorCkpt;

/// <summary>
/// A node's bulk channel: the server its writers and readers receive and serve transfers on, and
/// the client its ranks and loaders send and fetch with. Both start on first use (a node whose bytes
/// never leave it opens no port) and close when the actor system terminates.
/// </summary>
internal sealed class NodeBulkChannel : IAsyncDisposable
{
    private readonly object _gate = new();
    private readonly ILoggingAdapter _log;
    private readonly Lazy<BulkClient> _client;
    private BulkServer? _server;
    private bool _disposed;

    /// <summary>The channel of a node of <paramref name="system"/>, with <paramref name="settings"/> (an empty bind host: the host of the system's remote address).</summary>
    public NodeBulkChannel(ActorSystem system, BulkChannelSettings settings, TimeSpan tokenTtl)
    {
        if (string.IsNullOrEmpty(settings.BindHost))
        {
            var host = ((ExtendedActorSystem)system).Provider.DefaultAddress.Host;
            settings = settings with { BindHost = string.IsNullOrEmpty(host) || host == "localhost" ? "127.0.0.1" : host };
        }
        Settings = settings.Validate();
        TokenTtl = tokenTtl;
        _log = Logging.GetLogger(system, typeof(NodeBulkChannel));
        _client = new Lazy<BulkClient>(() => new BulkClient(Settings));
        TerminationHooks.Register(system, () => DisposeAsync().AsTask().GetAwaiter().GetResult());
    }

    /// <summary>The channel's settings, bind host resolved.</summary>
    public BulkChannelSettings Settings { get; }

    /// <summary>How long a token stays valid when its transfer does not begin.</summary>
    public TimeSpan TokenTtl { get; }

    /// <summary>
    /// The node's server, started on first use. A start that fails (the address cannot be bound,
    /// the certificate cannot be read) throws one line naming the setting and is tried again on
    /// the next use, not remembered.
    /// </summary>
    public BulkServer Server
    {
        get
        {
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (_server is not null) return _server;
                try
                {
                    _server = BulkServer.Start(Settings, m => _log.Warning(m));
                }
                catch (Exception e) when (e is ArgumentException or System.Net.Sockets.SocketException or IOException)
                {
                    throw new ActorCkptException($"the bulk channel cannot listen on {Settings.BindHost}:{Settings.Port} (actorckpt.transfer.channel): {e.Message}", e);
                }
                _log.Info("Bulk channel listening on {0}{1}", _server.Endpoint, Settings.Tls is null ? "" : " (TLS)");
                return _server;
            }
        }
    }

    /// <summary>The node's client (created on first use).</summary>
    public BulkClient Client => _client.Value;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        BulkServer? server;
        lock (_gate)
        {
            _disposed = true;
            server = _server;
        }
        if (_client.IsValueCreated) await _client.Value.DisposeAsync().ConfigureAwait(false);
        if (server is not null) await server.DisposeAsync().ConfigureAwait(false);
    }
}

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
    private readonly Lazy<BulkServer> _server;
    private readonly Lazy<BulkClient> _client;

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
        var log = Logging.GetLogger(system, typeof(NodeBulkChannel));
        _server = new Lazy<BulkServer>(() =>
        {
            var server = BulkServer.Start(Settings, m => log.Warning(m));
            log.Info("Bulk channel listening on {0}{1}", server.Endpoint, Settings.Tls is null ? "" : " (TLS)");
            return server;
        });
        _client = new Lazy<BulkClient>(() => new BulkClient(Settings));
        system.RegisterOnTermination(() => DisposeAsync().AsTask().GetAwaiter().GetResult());
    }

    /// <summary>The channel's settings, bind host resolved.</summary>
    public BulkChannelSettings Settings { get; }

    /// <summary>How long a token stays valid when its transfer does not begin.</summary>
    public TimeSpan TokenTtl { get; }

    /// <summary>The node's server (started on first use).</summary>
    public BulkServer Server => _server.Value;

    /// <summary>The node's client (created on first use).</summary>
    public BulkClient Client => _client.Value;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_client.IsValueCreated) await _client.Value.DisposeAsync().ConfigureAwait(false);
        if (_server.IsValueCreated) await _server.Value.DisposeAsync().ConfigureAwait(false);
    }
}

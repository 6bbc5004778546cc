namespace ActorCkpt;

/// <summary>
/// How a node's bulk channel listens and sends (HOCON <c>actorckpt.transfer.channel</c>).
/// </summary>
/// <param name="BindHost">The address the server listens on.</param>
/// <param name="Port">Its port; 0 picks a free one.</param>
/// <param name="PublicHost">The address other nodes connect to (null: <paramref name="BindHost"/>).</param>
/// <param name="FrameSize">Most bytes of one data frame.</param>
/// <param name="Window">Most bytes a sender has sent and the receiver has not yet consumed, per connection: the bound on memory in flight.</param>
/// <param name="ConnectionsPerPeer">Most idle connections kept to one peer for reuse.</param>
/// <param name="ConnectTimeout">How long a connection and its handshake (TLS included) may take.</param>
/// <param name="IdleTimeout">How long a connection may wait for the other side's next frame.</param>
/// <param name="Tls">TLS, or null for plain TCP.</param>
internal sealed record BulkChannelSettings(
    string BindHost,
    int Port,
    string? PublicHost,
    int FrameSize,
    int Window,
    int ConnectionsPerPeer,
    TimeSpan ConnectTimeout,
    TimeSpan IdleTimeout,
    BulkChannelTls? Tls)
{
    /// <summary>Loopback, a free port, 1 MiB frames, a 16 MiB window, 4 connections kept per peer, no TLS.</summary>
    public static BulkChannelSettings Default { get; } = new("127.0.0.1", 0, null, 1 << 20, 16 << 20, 4,
        TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30), null);

    private static readonly TimeSpan LongestTimeout = TimeSpan.FromDays(24);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting out of range.</summary>
    public BulkChannelSettings Validate()
    {
        if (Port is < 0 or > 65535) throw new ArgumentException($"actorckpt.transfer.channel.port: {Port} is not a port (0 to 65535)");
        if (FrameSize < 4096 || FrameSize > 64 << 20) throw new ArgumentException($"actorckpt.transfer.channel.frame-size: {FrameSize} bytes is outside 4KiB to 64MiB");
        if (Window < FrameSize) throw new ArgumentException($"actorckpt.transfer.channel.window: {Window} bytes is less than one frame ({FrameSize})");
        if (ConnectionsPerPeer < 1) throw new ArgumentException($"actorckpt.transfer.channel.connections-per-peer: {ConnectionsPerPeer} is less than 1");
        // A timer refuses more than 24.8 days: every transfer would then fail naming no key.
        if (ConnectTimeout <= TimeSpan.Zero || ConnectTimeout > LongestTimeout)
            throw new ArgumentException("actorckpt.transfer.channel.connect-timeout must be positive, at most 24d");
        if (IdleTimeout <= TimeSpan.Zero || IdleTimeout > LongestTimeout)
            throw new ArgumentException("actorckpt.transfer.channel.idle-timeout must be positive, at most 24d");
        return this;
    }
}

/// <summary>TLS of the bulk channel: the node's certificate and key (PEM files), and what it trusts in its peers.</summary>
/// <param name="CertificateFile">The node's certificate (PEM), presented when it serves.</param>
/// <param name="KeyFile">Its private key (PEM).</param>
/// <param name="TrustFile">
/// The certificate (PEM) a peer's certificate must chain to: a private CA, or the shared self-signed
/// certificate itself. Null: the system's trust store.
/// </param>
/// <param name="ServerName">The name a peer's certificate must carry (null: the host connected to).</param>
internal sealed record BulkChannelTls(string CertificateFile, string KeyFile, string? TrustFile, string? ServerName);

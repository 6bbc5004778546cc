namespace ChannelBench;

/// <summary>
/// The sending half of a candidate channel. One instance is one connection, reused by every
/// transfer of the process (the warm-up and the timed one), as the production channel would be.
/// </summary>
public interface IChannelSender : IAsyncDisposable
{
    /// <summary>Opens the connection to a receiver on 127.0.0.1.</summary>
    Task ConnectAsync(int port);

    /// <summary>
    /// Sends <c>payload[0..bytes]</c> in frames of <paramref name="frameBytes"/> (the last one shorter)
    /// and returns once the receiver acknowledged the end of the transfer.
    /// </summary>
    Task SendAsync(byte[] payload, int bytes, int frameBytes);
}

/// <summary>The receiving half: listens, writes each transfer from offset 0 of the destination buffer and reports it to the log.</summary>
public interface IChannelReceiver : IAsyncDisposable
{
    /// <summary>Starts listening on 127.0.0.1:<paramref name="port"/>; returns once connections are accepted.</summary>
    Task StartAsync(int port, byte[] dest, ReceiverLog log);
}

/// <summary>The candidates by name, as given on the command line.</summary>
public static class Candidates
{
    /// <summary>Every candidate, in the order a round runs them.</summary>
    public static readonly string[] All = ["tcp", "pipes", "socket", "akka", "grpc", "grpc-pooled"];

    /// <summary>The sender of a candidate.</summary>
    public static IChannelSender Sender(string name) => name switch
    {
        "tcp" => new TcpBaselineSender(),
        "pipes" => new FramedSocketSender(),
        "socket" => new FramedSocketSender(),
        "akka" => new AkkaTcpSender(),
        "grpc" or "grpc-pooled" => new GrpcBulkSender(),
        _ => throw new ArgumentException($"unknown candidate '{name}'; known: {string.Join(", ", All)}"),
    };

    /// <summary>The receiver of a candidate.</summary>
    public static IChannelReceiver Receiver(string name) => name switch
    {
        "tcp" => new TcpBaselineReceiver(),
        "pipes" => new PipesReceiver(),
        "socket" => new DirectSocketReceiver(),
        "akka" => new AkkaTcpReceiver(),
        "grpc" => new GrpcBulkReceiver(pooled: false),
        "grpc-pooled" => new GrpcBulkReceiver(pooled: true),
        _ => throw new ArgumentException($"unknown candidate '{name}'; known: {string.Join(", ", All)}"),
    };
}

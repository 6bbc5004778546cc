using System.Net;
using System.Net.Sockets;
using Akka.Configuration;

namespace ActorCkpt;

/// <summary>
/// Whether a node's Akka.Remote port is free before its actor system starts. Akka, given a port in use,
/// logs a stack trace and throws "Failed to bind to [host:port]. See InnerException for details." five
/// aggregates deep: the cause is said here instead, in one line, naming the option that set the port.
/// </summary>
internal static class RemotingPort
{
    /// <summary>
    /// Throws <see cref="ActorCkptException"/> naming <paramref name="option"/> when <paramref name="config"/>'s
    /// Akka.Remote address (<c>akka.remote.dot-netty.tcp</c>, a fixed port) cannot be bound because something
    /// holds it. A free port (or port 0, one the system picks) passes; so does anything else, for Akka to say.
    /// Called for nodes that use Akka.Remote (cluster nodes) only.
    /// </summary>
    public static void EnsureFree(Config config, string option)
    {
        var host = config.GetString("akka.remote.dot-netty.tcp.hostname", "");
        var port = config.GetInt("akka.remote.dot-netty.tcp.port", 0);
        if (port <= 0 || port > 65535 || !IPAddress.TryParse(string.IsNullOrEmpty(host) ? "0.0.0.0" : host, out var address)) return;
        var probe = new TcpListener(address, port) { ExclusiveAddressUse = true };
        try
        {
            probe.Start();
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            throw new ActorCkptException($"this node cannot listen on {address}:{port} for Akka.Remote: the address is in use (another process holds it); " +
                                         $"give {option} another port, or 0 for a free one");
        }
        catch (SocketException)
        {
            // An address this host does not have, say: Akka's own start says so.
        }
        finally
        {
            probe.Stop();
        }
    }
}

using System.Net;
using System.Net.Sockets;

namespace ActorCkpt;

/// <summary>Loopback ports for the servers and nodes a test starts; linked into each test project that needs one.</summary>
internal static class LoopbackPort
{
    /// <summary>
    /// A port free on 127.0.0.1 right now, the kernel's pick: nothing holds it once this returns, so
    /// another process may take it before the test binds it (rare in the ephemeral range; the caller's start fails then, naming it).
    /// </summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

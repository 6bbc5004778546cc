using System.Net.Sockets;

namespace ActorCkpt;

/// <summary>Socket options of the bulk channel.</summary>
internal static class BulkSockets
{
    /// <summary>
    /// No Nagle (a frame's header and payload go as written), and kernel buffers of a quarter of the
    /// window each way (Linux doubles what is asked), so what sits in the kernel stays within the window.
    /// </summary>
    public static void Configure(Socket socket, BulkChannelSettings settings)
    {
        socket.NoDelay = true;
        socket.SendBufferSize = settings.Window / 4;
        socket.ReceiveBufferSize = settings.Window / 4;
    }
}

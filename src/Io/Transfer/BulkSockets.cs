using System.Net.Sockets;

namespace ActorCkpt;

/// <summary>Socket options of the bulk channel.</summary>
internal static class BulkSockets
{
    /// <summary>
    /// No Nagle (a frame's header and payload go as written), and kernel buffers of half the window
    /// each way (Linux doubles what is asked, and caps it at net.core.wmem_max/rmem_max). The kernel
    /// never holds more than the window either way, since only unconsumed bytes sit there; buffers
    /// that can hold a whole window let a sender fill it while the receiver is busy, instead of
    /// stalling in a write with room left in the window (a quarter each way held barely a window of
    /// small frames, so a sender could block before it ever waited for credit).
    /// </summary>
    public static void Configure(Socket socket, BulkChannelSettings settings)
    {
        socket.NoDelay = true;
        socket.SendBufferSize = settings.Window / 2;
        socket.ReceiveBufferSize = settings.Window / 2;
    }
}

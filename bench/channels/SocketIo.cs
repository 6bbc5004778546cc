using System.Net;
using System.Net.Sockets;

namespace ChannelBench;

/// <summary>Small socket helpers shared by the socket candidates.</summary>
public static class SocketIo
{
    /// <summary>A connected TCP socket to 127.0.0.1:<paramref name="port"/>, Nagle off.</summary>
    public static async Task<Socket> ConnectAsync(int port)
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await s.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        return s;
    }

    /// <summary>A listening socket on 127.0.0.1:<paramref name="port"/>.</summary>
    public static Socket Listen(int port)
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, port));
        s.Listen(4);
        return s;
    }

    /// <summary>Fills <paramref name="buffer"/> from the socket; throws if the peer closes first.</summary>
    public static async ValueTask ReceiveExactlyAsync(Socket s, Memory<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            var n = await s.ReceiveAsync(buffer, SocketFlags.None);
            if (n == 0) throw new EndOfStreamException($"peer closed with {buffer.Length} bytes still expected");
            buffer = buffer[n..];
        }
    }

    /// <summary>True when the peer closed the connection cleanly before any byte of <paramref name="buffer"/>.</summary>
    public static async ValueTask<bool> ReceiveExactlyOrEndAsync(Socket s, Memory<byte> buffer)
    {
        var first = await s.ReceiveAsync(buffer, SocketFlags.None);
        if (first == 0) return false;
        await ReceiveExactlyAsync(s, buffer[first..]);
        return true;
    }

    /// <summary>Sends the whole of <paramref name="buffer"/>.</summary>
    public static async ValueTask SendAllAsync(Socket s, ReadOnlyMemory<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            var n = await s.SendAsync(buffer, SocketFlags.None);
            buffer = buffer[n..];
        }
    }
}

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace ActorCkpt.Cli.Bench;

/// <summary>
/// The bench's plain TCP copy between two node processes, the limit the bulk channel is measured
/// against: one connection, 4 MiB sends of a buffer filled before the clock, no framing, no
/// checksum; the receiver reads into one buffer and answers one byte when it has every byte.
/// </summary>
internal static class SocketBaseline
{
    private const int BufferSize = 4 << 20;

    /// <summary>Listens on <paramref name="host"/> for one connection that sends <paramref name="bytes"/>; the endpoint, and a task that ends once they were received and acknowledged.</summary>
    public static (string Endpoint, Task Received) Receive(string host, long bytes, TimeSpan patience)
    {
        var listener = new Socket(SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Parse(host), 0));
        listener.Listen(1);
        var endpoint = $"{host}:{((IPEndPoint)listener.LocalEndPoint!).Port}";
        var received = Task.Run(async () =>
        {
            using var giveUp = new CancellationTokenSource(patience);
            using (listener)
            {
                using var socket = await listener.AcceptAsync(giveUp.Token);
                var buffer = GC.AllocateUninitializedArray<byte>(BufferSize, pinned: true);
                for (long left = bytes; left > 0;)
                {
                    var n = await socket.ReceiveAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), SocketFlags.None, giveUp.Token);
                    if (n == 0) throw new IOException($"the socket baseline's sender closed after {bytes - left} of {bytes} bytes");
                    left -= n;
                }
                await socket.SendAsync(new byte[] { 1 }, SocketFlags.None, giveUp.Token);
            }
        });
        return (endpoint, received);
    }

    /// <summary>Sends <paramref name="bytes"/> to <paramref name="endpoint"/>; seconds from the first byte sent to the receiver's acknowledgement.</summary>
    public static async Task<double> SendAsync(string endpoint, long bytes, TimeSpan patience)
    {
        var (host, port) = BulkClient.ParseEndpoint(endpoint);
        using var giveUp = new CancellationTokenSource(patience);
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(host, port, giveUp.Token);
        var buffer = GC.AllocateUninitializedArray<byte>(BufferSize, pinned: true);
        Random.Shared.NextBytes(buffer);
        var clock = Stopwatch.StartNew();
        for (long left = bytes; left > 0;)
        {
            var n = (int)Math.Min(buffer.Length, left);
            await socket.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, giveUp.Token);
            left -= n;
        }
        var ack = new byte[1];
        if (await socket.ReceiveAsync(ack, SocketFlags.None, giveUp.Token) != 1) throw new IOException("the socket baseline's receiver closed before acknowledging");
        return clock.Elapsed.TotalSeconds;
    }
}

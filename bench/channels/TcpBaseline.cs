using System.Buffers.Binary;
using System.Net.Sockets;

namespace ChannelBench;

/// <summary>
/// The reference: a plain TCP copy. The sender writes an 8-byte length and then the whole buffer in
/// one send; the receiver reads straight into its buffer. No frames, no checksum on the way (the
/// driver still compares the XxHash128 of both buffers afterwards).
/// </summary>
public sealed class TcpBaselineSender : IChannelSender
{
    private Socket? _socket;
    private readonly byte[] _small = new byte[FrameHeader.AckSize];

    /// <inheritdoc />
    public async Task ConnectAsync(int port) => _socket = await SocketIo.ConnectAsync(port);

    /// <inheritdoc />
    public async Task SendAsync(byte[] payload, int bytes, int frameBytes)
    {
        var s = _socket!;
        BinaryPrimitives.WriteInt64LittleEndian(_small, bytes);
        await SocketIo.SendAllAsync(s, _small.AsMemory(0, 8));
        await SocketIo.SendAllAsync(s, payload.AsMemory(0, bytes));
        await SocketIo.ReceiveExactlyAsync(s, _small);
        FrameHeader.CheckAck(_small, bytes);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _socket?.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>The receiving half of <see cref="TcpBaselineSender"/>.</summary>
public sealed class TcpBaselineReceiver : IChannelReceiver
{
    private Socket? _listener;

    /// <inheritdoc />
    public Task StartAsync(int port, byte[] dest, ReceiverLog log)
    {
        _listener = SocketIo.Listen(port);
        _ = Task.Run(async () =>
        {
            try
            {
                using var s = await _listener.AcceptAsync();
                var small = new byte[FrameHeader.AckSize];
                while (await SocketIo.ReceiveExactlyOrEndAsync(s, small.AsMemory(0, 8)))
                {
                    var length = (int)BinaryPrimitives.ReadInt64LittleEndian(small);
                    await SocketIo.ReceiveExactlyAsync(s, dest.AsMemory(0, length));
                    var cpu = ReceiverLog.CpuNow();
                    FrameHeader.WriteAck(small, true, length);
                    await SocketIo.SendAllAsync(s, small);
                    log.Record(new TransferOutcome(length, 0, null), cpu);
                }
            }
            catch (Exception e) { log.Fail(e); }
        });
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _listener?.Dispose();
        return ValueTask.CompletedTask;
    }
}

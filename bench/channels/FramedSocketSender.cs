using System.IO.Hashing;
using System.Net.Sockets;

namespace ChannelBench;

/// <summary>
/// The sender of the two plain-socket candidates (pipes, socket): each frame leaves in one vectored
/// send (sendmsg with two iovecs: the 16-byte header and the payload slice of the pinned staging
/// buffer), so the payload is never copied in user space. The XxHash3 of a frame is computed just
/// before it is sent, inside the clock, as the production channel would.
/// </summary>
public sealed class FramedSocketSender : IChannelSender
{
    private Socket? _socket;
    private readonly byte[] _header = new byte[FrameHeader.Size];
    private readonly byte[] _ack = new byte[FrameHeader.AckSize];
    private readonly List<ArraySegment<byte>> _iov = [default, default];

    /// <inheritdoc />
    public async Task ConnectAsync(int port) => _socket = await SocketIo.ConnectAsync(port);

    /// <inheritdoc />
    public async Task SendAsync(byte[] payload, int bytes, int frameBytes)
    {
        var s = _socket!;
        for (var off = 0; off < bytes; off += frameBytes)
        {
            var len = Math.Min(frameBytes, bytes - off);
            FrameHeader.WriteData(_header, len, FrameChecksum.Of(payload.AsSpan(off, len), off));
            _iov[0] = new ArraySegment<byte>(_header);
            _iov[1] = new ArraySegment<byte>(payload, off, len);
            var total = FrameHeader.Size + len;
            var sent = await s.SendAsync(_iov, SocketFlags.None);
            if (sent < total) await SendRestAsync(s, _header, payload, off, len, sent);
        }
        FrameHeader.WriteEnd(_header, bytes);
        await SocketIo.SendAllAsync(s, _header);
        await SocketIo.ReceiveExactlyAsync(s, _ack);
        FrameHeader.CheckAck(_ack, bytes);
    }

    // A blocking-mode socket sends everything, but the contract allows a partial send: finish it.
    private static async ValueTask SendRestAsync(Socket s, byte[] header, byte[] payload, int off, int len, int sent)
    {
        if (sent < FrameHeader.Size)
        {
            await SocketIo.SendAllAsync(s, header.AsMemory(sent));
            sent = FrameHeader.Size;
        }
        var done = sent - FrameHeader.Size;
        await SocketIo.SendAllAsync(s, payload.AsMemory(off + done, len - done));
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _socket?.Dispose();
        return ValueTask.CompletedTask;
    }
}

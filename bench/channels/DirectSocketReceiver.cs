using System.Buffers.Binary;
using System.IO.Hashing;
using System.Net.Sockets;

namespace ChannelBench;

/// <summary>
/// The plain-socket candidate without Pipelines: the receiver reads each 16-byte header, then
/// receives the payload straight into its place in the destination buffer (no copy in user space)
/// and checks the frame's XxHash3 there. Same sender and wire format as the Pipelines candidate.
/// </summary>
public sealed class DirectSocketReceiver : IChannelReceiver
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
                s.NoDelay = true;
                var header = new byte[FrameHeader.Size];
                long offset = 0;
                var frames = 0;
                while (await SocketIo.ReceiveExactlyOrEndAsync(s, header))
                {
                    var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(header);
                    var flags = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4));
                    var word = BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(8));
                    if ((flags & FrameHeader.End) != 0)
                    {
                        var cpu = ReceiverLog.CpuNow();
                        var ok = (long)word == offset;
                        var outcome = new TransferOutcome(offset, frames, ok ? null : $"sender says {word} bytes, {offset} arrived");
                        FrameHeader.WriteAck(header, ok, offset);
                        await SocketIo.SendAllAsync(s, header.AsMemory(0, FrameHeader.AckSize));
                        log.Record(outcome, cpu);
                        offset = 0;
                        frames = 0;
                        continue;
                    }
                    if (length <= 0 || offset + length > dest.Length)
                        throw new InvalidDataException($"frame of {length} bytes at offset {offset} does not fit the {dest.Length}-byte buffer");
                    await SocketIo.ReceiveExactlyAsync(s, dest.AsMemory((int)offset, length));
                    var actual = XxHash3.HashToUInt64(dest.AsSpan((int)offset, length));
                    if (actual != word)
                        throw new InvalidDataException($"frame {frames} at offset {offset}: XxHash3 {actual:x16}, header says {word:x16}");
                    offset += length;
                    frames++;
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

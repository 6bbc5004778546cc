using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;

namespace ChannelBench;

/// <summary>
/// The System.IO.Pipelines candidate's receiver: a <see cref="PipeReader"/> over the socket's
/// <see cref="NetworkStream"/> (reads of up to 1 MiB into pooled segments) feeds each segment to the
/// <see cref="FrameAssembler"/>, which copies the payload into the destination buffer and checks every
/// frame's XxHash3. One copy in user space (pipe segment to destination), as a Pipelines reader has.
/// </summary>
public sealed class PipesReceiver : IChannelReceiver
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
                await using var stream = new NetworkStream(s, ownsSocket: false);
                var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 1 << 20, minimumReadSize: 256 << 10));
                var assembler = new FrameAssembler(dest);
                var ack = new byte[FrameHeader.AckSize];
                var pendingAcks = new List<(TransferOutcome, TimeSpan)>();
                assembler.TransferEnded += o => pendingAcks.Add((o, ReceiverLog.CpuNow()));
                while (true)
                {
                    var result = await reader.ReadAsync();
                    var buffer = result.Buffer;
                    foreach (var segment in buffer) assembler.Feed(segment.Span);
                    reader.AdvanceTo(buffer.End);
                    foreach (var (outcome, cpu) in pendingAcks)
                    {
                        FrameHeader.WriteAck(ack, outcome.Error is null, outcome.Bytes);
                        await SocketIo.SendAllAsync(s, ack);
                        log.Record(outcome, cpu);
                    }
                    pendingAcks.Clear();
                    if (result.IsCompleted) break;
                }
                await reader.CompleteAsync();
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

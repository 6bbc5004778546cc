using System.IO.Hashing;
using System.Net;
using Akka.Actor;
using Akka.Configuration;
using Akka.IO;
using Akka.Streams;
using Akka.Streams.Dsl;

namespace ChannelBench;

/// <summary>The configuration both Akka.Streams TCP ends run with.</summary>
public static class AkkaTcpConfig
{
    /// <summary>
    /// Akka.IO's TCP defaults are sized for control traffic (512-byte receive buffers, 4 KiB write
    /// batches, 8 KiB socket buffers); the bulk channel gets buffers of its frame size's order.
    /// A write must fit maximum-frame-size (4 MiB frames plus header: 5m), and Akka.IO requires the
    /// socket buffers to be twice that; it always sets them, and Linux caps what it asks at
    /// net.core.wmem_max / rmem_max (4 MiB here, doubled by the kernel for bookkeeping).
    /// </summary>
    public static Config Bulk => ConfigurationFactory.ParseString("""
        akka {
          loglevel = WARNING
          stdout-loglevel = WARNING
          io.tcp {
            disabled-buffer-pool.buffer-size = 262144
            maximum-frame-size = 5m
            send-buffer-size = 10m
            receive-buffer-size = 10m
          }
        }
        """);
}

/// <summary>
/// The Akka.Streams TCP candidate's sender: one <c>Tcp().OutgoingConnection</c> fed by a bounded
/// <c>Source.Queue</c> (4 frames in flight at most in the stream). Each frame is a ByteString that
/// wraps the 16-byte header and the slice of the pinned staging buffer without copying them; what
/// Akka.IO does with it on the way to the socket is what is measured.
/// </summary>
public sealed class AkkaTcpSender : IChannelSender
{
    private ActorSystem? _system;
    private ISourceQueueWithComplete<ByteString>? _out;
    private ISinkQueue<ByteString>? _in;

    /// <inheritdoc />
    public async Task ConnectAsync(int port)
    {
        _system = ActorSystem.Create("sender", AkkaTcpConfig.Bulk);
        var mat = _system.Materializer();
        var connection = _system.TcpStream().OutgoingConnection(new IPEndPoint(IPAddress.Loopback, port));
        var ((queue, connected), acks) = Source.Queue<ByteString>(4, OverflowStrategy.Backpressure)
            .ViaMaterialized(connection, Keep.Both)
            .ToMaterialized(Sink.Queue<ByteString>(), Keep.Both)
            .Run(mat);
        await connected;
        _out = queue;
        _in = acks;
    }

    /// <inheritdoc />
    public async Task SendAsync(byte[] payload, int bytes, int frameBytes)
    {
        for (var off = 0; off < bytes; off += frameBytes)
        {
            var len = Math.Min(frameBytes, bytes - off);
            var header = new byte[FrameHeader.Size]; // wrapped, not copied, by the ByteString: one per frame in flight
            FrameHeader.WriteData(header, len, FrameChecksum.Of(payload.AsSpan(off, len), off));
            await Offer(ByteString.FromBytes(header).Concat(ByteString.FromBytes(payload, off, len)));
        }
        var end = new byte[FrameHeader.Size];
        FrameHeader.WriteEnd(end, bytes);
        await Offer(ByteString.FromBytes(end));

        var ack = new byte[FrameHeader.AckSize];
        var fill = 0;
        while (fill < ack.Length)
        {
            var next = await _in!.PullAsync();
            if (!next.HasValue) throw new EndOfStreamException("the receiver closed before acknowledging");
            var chunk = next.Value;
            var n = Math.Min(chunk.Count, ack.Length - fill);
            chunk.Slice(0, n).CopyTo(ack, fill, n);
            fill += n;
        }
        FrameHeader.CheckAck(ack, bytes);
    }

    private async Task Offer(ByteString frame)
    {
        var result = await _out!.OfferAsync(frame);
        if (result is not QueueOfferResult.Enqueued)
            throw new InvalidOperationException($"the connection's queue refused a frame: {result}");
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _out?.Complete();
        if (_system is not null) await _system.Terminate();
    }
}

/// <summary>
/// The Akka.Streams TCP candidate's receiver: <c>Tcp().Bind</c> in its own ActorSystem; each
/// connection is handled by a flow that feeds every received ByteString's buffers to a
/// <see cref="FrameAssembler"/> (payload copied into the destination, each frame's XxHash3 checked)
/// and emits the 16-byte acknowledgement when a transfer's end frame arrives.
/// </summary>
public sealed class AkkaTcpReceiver : IChannelReceiver
{
    private ActorSystem? _system;

    /// <inheritdoc />
    public async Task StartAsync(int port, byte[] dest, ReceiverLog log)
    {
        _system = ActorSystem.Create("receiver", AkkaTcpConfig.Bulk);
        var mat = _system.Materializer();
        var handler = Flow.Create<ByteString>().StatefulSelectMany<ByteString, ByteString, ByteString, Akka.NotUsed>(() =>
        {
            var assembler = new FrameAssembler(dest);
            var ended = new List<(TransferOutcome Outcome, TimeSpan Cpu)>();
            assembler.TransferEnded += o => ended.Add((o, ReceiverLog.CpuNow()));
            return chunk =>
            {
                try
                {
                    // A received ByteString is one buffer: its span is a view, not a copy.
                    assembler.Feed(chunk.ToReadOnlySpan());
                }
                catch (Exception e)
                {
                    log.Fail(e);
                    throw;
                }
                if (ended.Count == 0) return Array.Empty<ByteString>();
                var acks = new List<ByteString>(ended.Count);
                foreach (var (outcome, cpu) in ended)
                {
                    var ack = new byte[FrameHeader.AckSize];
                    FrameHeader.WriteAck(ack, outcome.Error is null, outcome.Bytes);
                    acks.Add(ByteString.FromBytes(ack));
                    log.Record(outcome, cpu);
                }
                ended.Clear();
                return acks;
            };
        });
        await _system.TcpStream().Bind("127.0.0.1", port)
            .To(Sink.ForEach<Akka.Streams.Dsl.Tcp.IncomingConnection>(c => c.HandleWith(handler, mat)))
            .Run(mat);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_system is not null) await _system.Terminate();
    }
}

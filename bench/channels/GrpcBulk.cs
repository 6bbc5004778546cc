using System.IO.Hashing;
using System.Net;
using ChannelBench.Grpc;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ChannelBench;

/// <summary>
/// The gRPC candidate's sender: Grpc.Net.Client over h2c (HTTP/2 without TLS) on loopback, one
/// client-streaming <c>Push</c> call per transfer, one message per frame. Each message's bytes wrap
/// the slice of the pinned staging buffer (<see cref="UnsafeByteOperations.UnsafeWrap(ReadOnlyMemory{byte})"/>),
/// so the only copy on the sending side is the serializer's into HTTP/2 DATA frames.
/// </summary>
public sealed class GrpcBulkSender : IChannelSender
{
    private GrpcChannel? _channel;
    private Bulk.BulkClient? _client;

    /// <inheritdoc />
    public async Task ConnectAsync(int port)
    {
        _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}", new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                InitialHttp2StreamWindowSize = 16 << 20,
                EnableMultipleHttp2Connections = false,
            },
            MaxSendMessageSize = null,
            MaxReceiveMessageSize = null,
        });
        await _channel.ConnectAsync();
        _client = new Bulk.BulkClient(_channel);
    }

    /// <inheritdoc />
    public async Task SendAsync(byte[] payload, int bytes, int frameBytes)
    {
        using var call = _client!.Push();
        for (var off = 0; off < bytes; off += frameBytes)
        {
            var len = Math.Min(frameBytes, bytes - off);
            var slice = payload.AsMemory(off, len);
            await call.RequestStream.WriteAsync(new Frame
            {
                Hash = FrameChecksum.Of(slice.Span, off),
                Data = UnsafeByteOperations.UnsafeWrap(slice),
            });
        }
        await call.RequestStream.CompleteAsync();
        var ack = await call.ResponseAsync;
        if (!string.IsNullOrEmpty(ack.Error) || ack.Bytes != bytes)
            throw new InvalidOperationException($"receiver refused the transfer: {ack.Error} ({ack.Bytes} of {bytes} bytes)");
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _channel?.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// The gRPC candidate's receiver: Kestrel on 127.0.0.1 with HTTP/2 only (h2c), flow-control windows
/// raised to 32 MiB (connection) and 16 MiB (stream) so the window is not what limits a bulk
/// stream, and a <see cref="BulkService"/> that copies each message's bytes into the destination
/// (or, pooled, a <see cref="PooledBulkService"/> whose request parser reuses its buffers).
/// </summary>
public sealed class GrpcBulkReceiver(bool pooled) : IChannelReceiver
{
    private WebApplication? _app;

    /// <inheritdoc />
    public async Task StartAsync(int port, byte[] dest, ReceiverLog log)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, port, l => l.Protocols = HttpProtocols.Http2);
            k.Limits.MaxRequestBodySize = null;
            // Kestrel's MaxFrameSize is left at 16 KiB: raising it to 16 MiB changed nothing in a trial
            // (256 MiB, 3.13 s vs 3.16 s), nor did the default windows (3.14 s), on a busy machine.
            k.Limits.Http2.InitialConnectionWindowSize = 32 << 20;
            k.Limits.Http2.InitialStreamWindowSize = 16 << 20;
        });
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = 64 << 20;
            o.EnableDetailedErrors = true;
        });
        builder.Services.AddSingleton(new BulkService.Target(dest, log));
        _app = builder.Build();
        if (pooled) _app.MapGrpcService<PooledBulkService>();
        else _app.MapGrpcService<BulkService>();
        await _app.StartAsync();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
    }
}

/// <summary>The receiving end of the <c>Bulk.Push</c> call: one transfer per call, written from offset 0 of the destination.</summary>
public sealed class BulkService(BulkService.Target target) : Bulk.BulkBase
{
    /// <summary>Where the service writes and reports.</summary>
    public sealed record Target(byte[] Dest, ReceiverLog Log);

    /// <inheritdoc />
    public override async Task<Ack> Push(IAsyncStreamReader<Frame> requestStream, ServerCallContext context)
    {
        var dest = target.Dest;
        var offset = 0;
        var frames = 0;
        try
        {
            await foreach (var frame in requestStream.ReadAllAsync(context.CancellationToken))
            {
                var data = frame.Data.Span;
                if (offset + data.Length > dest.Length)
                    throw new InvalidDataException($"frame of {data.Length} bytes at offset {offset} does not fit the {dest.Length}-byte buffer");
                var place = dest.AsSpan(offset, data.Length);
                data.CopyTo(place);
                var actual = XxHash3.HashToUInt64(place);
                if (actual != frame.Hash)
                    throw new InvalidDataException($"frame {frames} at offset {offset}: XxHash3 {actual:x16}, header says {frame.Hash:x16}");
                offset += data.Length;
                frames++;
            }
        }
        catch (Exception e)
        {
            target.Log.Fail(e);
            return new Ack { Bytes = offset, Frames = frames, Error = e.Message };
        }
        target.Log.Record(new TransferOutcome(offset, frames, null), ReceiverLog.CpuNow());
        return new Ack { Bytes = offset, Frames = frames };
    }
}

using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using ChannelBench.Grpc;
using Google.Protobuf;
using Grpc.Core;

namespace ChannelBench;

/// <summary>
/// A <c>Frame</c> as the pooled gRPC receiver reads it: the hash and the payload in a buffer rented
/// from <see cref="ArrayPool{T}.Shared"/>, returned once the service copied it into the destination.
/// </summary>
public sealed record PooledFrame(ulong Hash, byte[] Rented, int Length);

/// <summary>
/// The same <c>/Bulk/Push</c> method as the generated code, bound with a request deserializer of our
/// own. The generated parser gives every message a new byte array (1 MiB each: a large-object
/// allocation per frame, a gen-2 collection every few frames); this one parses the protobuf fields
/// itself and copies the bytes into a pooled buffer. The wire format and the client are unchanged.
/// </summary>
public static class PooledBulk
{
    /// <summary>The client-streaming method, request side parsed into pooled buffers.</summary>
    public static readonly Method<PooledFrame, Ack> Push = new(
        MethodType.ClientStreaming, "Bulk", "Push",
        Marshallers.Create<PooledFrame>((_, _) => throw new NotSupportedException("the pooled frame is receive-only"), Deserialize),
        Marshallers.Create<Ack>(SerializeAck, ctx => Ack.Parser.ParseFrom(ctx.PayloadAsReadOnlySequence())));

    /// <summary>Called by Grpc.AspNetCore (through <see cref="BindServiceMethodAttribute"/>) to register the method.</summary>
    public static void BindService(ServiceBinderBase binder, PooledBulkBase? service) =>
        binder.AddMethod(Push, service is null ? null : new ClientStreamingServerMethod<PooledFrame, Ack>(service.Push));

    private static void SerializeAck(Ack ack, SerializationContext ctx)
    {
        ctx.SetPayloadLength(ack.CalculateSize());
        ack.WriteTo(ctx.GetBufferWriter());
        ctx.Complete();
    }

    // Frame { fixed64 hash = 1; bytes data = 2; }: tag 0x09 then 8 bytes, tag 0x12 then a varint length and the bytes.
    private static PooledFrame Deserialize(DeserializationContext ctx)
    {
        var reader = new SequenceReader<byte>(ctx.PayloadAsReadOnlySequence());
        ulong hash = 0;
        byte[]? rented = null;
        var length = 0;
        Span<byte> h = stackalloc byte[8];
        while (!reader.End)
        {
            var tag = ReadVarint(ref reader);
            switch (tag)
            {
                case 0x09:
                    if (!reader.TryCopyTo(h)) throw new InvalidDataException("truncated hash");
                    reader.Advance(8);
                    hash = BinaryPrimitives.ReadUInt64LittleEndian(h);
                    break;
                case 0x12:
                    length = checked((int)ReadVarint(ref reader));
                    if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
                    rented = ArrayPool<byte>.Shared.Rent(length);
                    if (!reader.TryCopyTo(rented.AsSpan(0, length))) throw new InvalidDataException("truncated data");
                    reader.Advance(length);
                    break;
                default:
                    throw new InvalidDataException($"unexpected protobuf tag {tag:x}");
            }
        }
        return new PooledFrame(hash, rented ?? [], length);
    }

    private static ulong ReadVarint(ref SequenceReader<byte> reader)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (!reader.TryRead(out var b)) throw new InvalidDataException("truncated varint");
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
        throw new InvalidDataException("varint too long");
    }
}

/// <summary>The service base Grpc.AspNetCore binds to (it binds only overrides of a method declared on the attributed type).</summary>
[BindServiceMethod(typeof(PooledBulk), nameof(PooledBulk.BindService))]
public abstract class PooledBulkBase
{
    /// <summary>One transfer per call.</summary>
    public abstract Task<Ack> Push(IAsyncStreamReader<PooledFrame> requestStream, ServerCallContext context);
}

/// <summary>The pooled receiver's service: copies each frame into the destination, checks its XxHash3, returns the pooled buffer.</summary>
public sealed class PooledBulkService(BulkService.Target target) : PooledBulkBase
{
    /// <summary>One transfer per call, written from offset 0 of the destination.</summary>
    public override async Task<Ack> Push(IAsyncStreamReader<PooledFrame> requestStream, ServerCallContext context)
    {
        var dest = target.Dest;
        var offset = 0;
        var frames = 0;
        try
        {
            await foreach (var frame in requestStream.ReadAllAsync(context.CancellationToken))
            {
                try
                {
                    if (offset + frame.Length > dest.Length)
                        throw new InvalidDataException($"frame of {frame.Length} bytes at offset {offset} does not fit the {dest.Length}-byte buffer");
                    var place = dest.AsSpan(offset, frame.Length);
                    frame.Rented.AsSpan(0, frame.Length).CopyTo(place);
                    var actual = XxHash3.HashToUInt64(place);
                    if (actual != frame.Hash)
                        throw new InvalidDataException($"frame {frames} at offset {offset}: XxHash3 {actual:x16}, header says {frame.Hash:x16}");
                }
                finally
                {
                    if (frame.Rented.Length > 0) ArrayPool<byte>.Shared.Return(frame.Rented);
                }
                offset += frame.Length;
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

using System.Buffers.Binary;

namespace ChannelBench;

/// <summary>
/// The 16-byte header that precedes every frame on the socket candidates (pipes, socket, akka):
/// payload length (u32), flags (u32), XxHash3 of the payload (u64), little-endian. The frame that
/// ends a transfer has no payload, the <see cref="End"/> flag, and the transfer's byte count in
/// place of the hash, so the receiver can tell a short transfer from a complete one.
/// </summary>
public static class FrameHeader
{
    /// <summary>Bytes of a header on the wire.</summary>
    public const int Size = 16;

    /// <summary>Flag of the last frame of a transfer.</summary>
    public const uint End = 1;

    /// <summary>Bytes of the receiver's answer to an end frame: status (u64, 0 = ok), bytes received (u64).</summary>
    public const int AckSize = 16;

    /// <summary>Writes a data frame's header.</summary>
    public static void WriteData(Span<byte> dst, int length, ulong hash)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(dst, (uint)length);
        BinaryPrimitives.WriteUInt32LittleEndian(dst[4..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(dst[8..], hash);
    }

    /// <summary>Writes the header of the frame that ends a transfer of <paramref name="totalBytes"/>.</summary>
    public static void WriteEnd(Span<byte> dst, long totalBytes)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(dst, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(dst[4..], End);
        BinaryPrimitives.WriteUInt64LittleEndian(dst[8..], (ulong)totalBytes);
    }

    /// <summary>Writes the receiver's answer.</summary>
    public static void WriteAck(Span<byte> dst, bool ok, long bytes)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(dst, ok ? 0UL : 1UL);
        BinaryPrimitives.WriteUInt64LittleEndian(dst[8..], (ulong)bytes);
    }

    /// <summary>Reads the receiver's answer; throws when it reports a failure or a different byte count.</summary>
    public static void CheckAck(ReadOnlySpan<byte> src, long expectedBytes)
    {
        var status = BinaryPrimitives.ReadUInt64LittleEndian(src);
        var bytes = (long)BinaryPrimitives.ReadUInt64LittleEndian(src[8..]);
        if (status != 0 || bytes != expectedBytes)
            throw new InvalidOperationException($"receiver refused the transfer: status {status}, {bytes} of {expectedBytes} bytes");
    }
}

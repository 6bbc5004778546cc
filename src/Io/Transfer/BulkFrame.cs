using System.Buffers.Binary;
using System.IO.Hashing;

namespace ActorCkpt;

/// <summary>
/// The 32-byte header of a bulk-channel frame, little-endian: magic "ACKB" (4), kind (1), flags (1,
/// zero), reserved (2, zero), payload length (4), position (8), payload checksum (8, xxHash3-64 for
/// <see cref="BulkFrameKind.Data"/>, zero otherwise), and an xxHash32 of the 28 bytes before it. The
/// header's own checksum means a damaged length or position is refused before it is acted on, and
/// the length is bounded by the caller before any payload is read.
/// </summary>
/// <param name="Kind">What the frame says.</param>
/// <param name="Length">Bytes of payload that follow the header.</param>
/// <param name="Position">A position in the transfer (see <see cref="BulkFrameKind"/>).</param>
/// <param name="Checksum">xxHash3-64 of the payload of a data frame.</param>
internal readonly record struct BulkFrame(BulkFrameKind Kind, int Length, long Position, ulong Checksum)
{
    /// <summary>Bytes of a header.</summary>
    public const int HeaderLength = 32;

    /// <summary>"ACKB" read as a little-endian integer.</summary>
    public const uint Magic = 0x424B4341;

    /// <summary>The version of the protocol a <see cref="BulkFrameKind.Hello"/> carries.</summary>
    public const long ProtocolVersion = 1;

    /// <summary>Most bytes of a control frame's payload (a token, a reason).</summary>
    public const int MaxControlPayload = 4096;

    /// <summary>Writes the header into the first <see cref="HeaderLength"/> bytes of <paramref name="into"/>.</summary>
    public void Write(Span<byte> into)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(into, Magic);
        into[4] = (byte)Kind;
        into[5] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(into[6..], 0);
        BinaryPrimitives.WriteInt32LittleEndian(into[8..], Length);
        BinaryPrimitives.WriteInt64LittleEndian(into[12..], Position);
        BinaryPrimitives.WriteUInt64LittleEndian(into[20..], Checksum);
        BinaryPrimitives.WriteUInt32LittleEndian(into[28..], XxHash32.HashToUInt32(into[..28]));
    }

    /// <summary>
    /// Reads a header from <paramref name="from"/>; throws <see cref="BulkChannelException"/> naming
    /// <paramref name="peer"/> and the fault when it is not a frame of this protocol or its payload
    /// would exceed <paramref name="maxData"/> (data) or <see cref="MaxControlPayload"/> (anything else).
    /// </summary>
    public static BulkFrame Read(ReadOnlySpan<byte> from, int maxData, string peer)
    {
        if (BinaryPrimitives.ReadUInt32LittleEndian(from) != Magic)
            throw new BulkChannelException($"bulk channel from {peer}: not a frame of this protocol (bad magic)");
        if (BinaryPrimitives.ReadUInt32LittleEndian(from[28..]) != XxHash32.HashToUInt32(from[..28]))
            throw new BulkChannelException($"bulk channel from {peer}: frame header corrupted (its checksum does not match)");
        var kind = (BulkFrameKind)from[4];
        if (!Enum.IsDefined(kind)) throw new BulkChannelException($"bulk channel from {peer}: unknown frame kind {from[4]}");
        if (from[5] != 0 || BinaryPrimitives.ReadUInt16LittleEndian(from[6..]) != 0)
            throw new BulkChannelException($"bulk channel from {peer}: frame flags or reserved bytes are not zero");
        var length = BinaryPrimitives.ReadInt32LittleEndian(from[8..]);
        var max = kind == BulkFrameKind.Data ? maxData : MaxControlPayload;
        if (length < 0 || length > max)
            throw new BulkChannelException($"bulk channel from {peer}: {kind} frame of {length} bytes (at most {max})");
        var position = BinaryPrimitives.ReadInt64LittleEndian(from[12..]);
        if (position < 0) throw new BulkChannelException($"bulk channel from {peer}: {kind} frame at negative position {position}");
        return new BulkFrame(kind, length, position, BinaryPrimitives.ReadUInt64LittleEndian(from[20..]));
    }
}

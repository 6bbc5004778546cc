using System.IO.Hashing;

namespace ChannelBench;

/// <summary>
/// The checksum a sender puts on a frame: XxHash3 of its payload. The self-test can make it lie for
/// one frame (<see cref="CorruptFrameAt"/>) to show that every candidate's receiver refuses it.
/// </summary>
public static class FrameChecksum
{
    /// <summary>Byte offset of the frame whose checksum is sent wrong; -1 (the default) for none.</summary>
    public static long CorruptFrameAt { get; set; } = -1;

    /// <summary>The checksum to send for the frame at <paramref name="offset"/>.</summary>
    public static ulong Of(ReadOnlySpan<byte> payload, long offset)
    {
        var h = XxHash3.HashToUInt64(payload);
        return offset == CorruptFrameAt ? h ^ 1 : h;
    }
}

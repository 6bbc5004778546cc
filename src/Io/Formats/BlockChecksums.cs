using System.IO.Hashing;

namespace ActorCkpt.Io;

/// <summary>
/// xxHash3-64 checksums of fixed-size blocks. An item's bytes are cut into blocks of the
/// configured size (the last may be shorter); each block has its own checksum, so a load that
/// reads part of a chunk still verifies every byte it reads.
/// </summary>
public static class BlockChecksums
{
    /// <summary>Name of the algorithm, as recorded in the metadata.</summary>
    public const string Algorithm = "xxh3-64";

    /// <summary>Checksum of one block.</summary>
    public static ulong Of(ReadOnlySpan<byte> block) => XxHash3.HashToUInt64(block);

    /// <summary>Checksums of every <paramref name="blockSize"/>-byte block of <paramref name="data"/>.</summary>
    public static ulong[] Compute(ReadOnlySpan<byte> data, int blockSize)
    {
        var count = (int)((data.Length + (long)blockSize - 1) / blockSize);
        var sums = new ulong[count];
        for (var b = 0; b < count; b++)
        {
            var start = b * blockSize;
            sums[b] = Of(data.Slice(start, Math.Min(blockSize, data.Length - start)));
        }
        return sums;
    }

    /// <summary>Formats a checksum as 16 lowercase hex digits, as stored in the metadata.</summary>
    public static string ToHex(ulong sum) => sum.ToString("x16");

    /// <summary>Parses a 16-hex-digit checksum.</summary>
    public static ulong FromHex(string hex) => Convert.ToUInt64(hex, 16);
}

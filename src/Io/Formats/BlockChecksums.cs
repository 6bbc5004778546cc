using System.IO.Hashing;

namespace ActorCkpt;

/// <summary>
/// xxHash3-64 checksums of fixed-size blocks. An item's bytes are cut into blocks (the last may be
/// shorter); each block has its own checksum, so a load that reads part of a chunk still verifies
/// every byte it reads.
/// </summary>
internal static class BlockChecksums
{
    /// <summary>Name of the algorithm, as recorded in the metadata.</summary>
    public const string Algorithm = "xxh3-64";

    /// <summary>Blocks an item is cut into when its size allows (see <see cref="SizeFor"/>).</summary>
    public const int BlocksPerItem = 16;

    /// <summary>The smallest block <see cref="SizeFor"/> picks unless the largest allowed is smaller.</summary>
    public const int MinBlockSize = 64 << 10;

    /// <summary>
    /// The block size of an item of <paramref name="length"/> bytes: a sixteenth of it, in whole
    /// 4 KiB pages, at least <see cref="MinBlockSize"/> and at most <paramref name="maxBlockSize"/>.
    /// A load reading part of an item verifies the whole blocks around it, so it reads at most
    /// two blocks more than it needs: small against the part however the item is resharded,
    /// while the metadata holds at most 16 checksums for an item under 16 blocks of the largest size.
    /// </summary>
    public static int SizeFor(long length, int maxBlockSize)
    {
        var sixteenth = (length + BlocksPerItem - 1) / BlocksPerItem;
        var pages = (sixteenth + 4095) / 4096 * 4096;
        return (int)Math.Min(maxBlockSize, Math.Max(MinBlockSize, pages));
    }

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
}

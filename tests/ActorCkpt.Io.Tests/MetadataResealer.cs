using System.Buffers.Binary;
using System.IO.Hashing;

namespace ActorCkpt.Io.Tests;

/// <summary>
/// Recomputes every checksum of a binary metadata file bottom-up (pages, page indexes, sections,
/// then the seal), as far as its structure can still be followed: a hostile file whose checksums
/// all hold, so that what its fields say is what the reader must survive. Parts that cannot be
/// located (a pointer past the end) are left as they are.
/// </summary>
internal static class MetadataResealer
{
    public static byte[] Reseal(byte[] original)
    {
        var b = (byte[])original.Clone();
        if (b.Length < 64) return b;
        var dirLength = I64(b, 48);
        if (dirLength < 0 || dirLength > b.Length - 72) return b;
        var dirEnd = 64 + (int)dirLength;
        var at = 64;
        // strings, files: their checksums in the directory.
        for (var s = 0; s < 2; s++, at += 32) Fix(b, at, at + 16);
        // objects: pages, then their index.
        FixIndex(b, at, 1);
        at += 32;
        if (at + 4 <= dirEnd)
        {
            var count = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(at));
            at += 4;
            for (var t = 0; t < count && at < dirEnd; t++)
            {
                if (at + 4 > dirEnd) break;
                var keyLength = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(at)), int.MaxValue);
                at += 4;
                if (keyLength > dirEnd - at) break;
                at += keyLength;
                if (at + 1 > dirEnd) break;
                at += 1 + b[at];
                if (at + 4 > dirEnd) break;
                var dims = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(at)), 1000);
                at += 4 + 8 * dims + 8;
                if (at + 24 > dirEnd) break;
                FixIndex(b, at - 8, dims, indexAt: at);
                at += 24;
            }
        }
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(dirEnd), XxHash3.HashToUInt64(b.AsSpan(0, dirEnd)));
        return b;
    }

    /// <summary>Fixes the pages listed by the page index whose (offset, length, checksum) is at <paramref name="indexAt"/> (or <paramref name="at"/>), then the index's own checksum.</summary>
    private static void FixIndex(byte[] b, int at, int dims, int indexAt = -1)
    {
        if (indexAt < 0) indexAt = at;
        if (indexAt + 24 > b.Length) return;
        var offset = I64(b, indexAt);
        var length = I64(b, indexAt + 8);
        if (offset < 0 || length < 0 || offset > b.Length || length > b.Length - offset) return;
        var entry = 32 + 16 * dims;
        for (var e = offset; e + entry <= offset + length; e += entry) Fix(b, (int)e, (int)e + 16);
        Fix(b, indexAt, indexAt + 16);
    }

    /// <summary>Writes at <paramref name="checksumAt"/> the checksum of the part whose offset and length are at <paramref name="regionAt"/>, when it lies in the file.</summary>
    private static void Fix(byte[] b, int regionAt, int checksumAt)
    {
        if (regionAt + 16 > b.Length || checksumAt + 8 > b.Length) return;
        var offset = I64(b, regionAt);
        var length = I64(b, regionAt + 8);
        if (offset < 0 || length < 0 || offset > b.Length || length > b.Length - offset) return;
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(checksumAt), XxHash3.HashToUInt64(b.AsSpan((int)offset, (int)length)));
    }

    private static long I64(byte[] b, int at) => BinaryPrimitives.ReadInt64LittleEndian(b.AsSpan(at));
}

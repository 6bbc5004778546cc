using System.Buffers.Binary;

namespace ActorCkpt;

/// <summary>
/// The binary metadata form (layout version 2; docs/formats.md has every field): a fixed header, a
/// directory (sections, then the tensors sorted by key), an 8-byte seal (xxHash3-64 of header and
/// directory), then sections each of which the directory or a page index checksums. All integers
/// are little-endian. It is committed under the same name as the JSON form
/// (<see cref="CheckpointLayout.MetadataFile"/>); its first byte (0x89, never the start of JSON)
/// tells the two apart. The catalog records the seal, so a reader checks header and directory
/// against it and every page it reads against the directory, reading nothing else (a Merkle root).
/// </summary>
internal static class MetadataBinary
{
    /// <summary>The first 8 bytes: 0x89 "ACKMETA".</summary>
    public static ReadOnlySpan<byte> Magic => [0x89, (byte)'A', (byte)'C', (byte)'K', (byte)'M', (byte)'E', (byte)'T', (byte)'A'];

    /// <summary>The layout version this build writes and reads.</summary>
    public const uint LayoutVersion = 2;

    /// <summary>Bytes of the fixed header.</summary>
    public const int HeaderLength = 64;

    /// <summary>Bytes of the seal after the directory.</summary>
    public const int SealLength = 8;

    /// <summary>Bytes of a section entry in the directory (strings, files, objects).</summary>
    public const int SectionEntryLength = 32;

    /// <summary>Bytes of a file record.</summary>
    public const int FileRecordLength = 32;

    /// <summary>A string reference meaning "the name the storage-name rules give" (<see cref="StorageNames"/>).</summary>
    public const uint CanonicalName = uint.MaxValue;

    /// <summary>The most chunks (or entries) a page holds.</summary>
    public const int PageRecords = 64;

    /// <summary>The most dimensions a tensor of this form has: more would only make a hostile count costly.</summary>
    public const int MaxDimensions = Shapes.MaxDimensions;

    /// <summary>Bytes of a page index entry for <paramref name="dims"/> dimensions: offset, length, checksum, count, reserved, low and high corner.</summary>
    public static int PageEntryLength(int dims) => 32 + 16 * dims;

    /// <summary>Bytes of a chunk record without its checksums: position, box, rank, name, then the stored bytes.</summary>
    public static int ChunkRecordLength(int dims) => 4 + 16 * dims + 4 + 4 + StoredLength;

    /// <summary>Bytes of an entry record without its checksums: position, key, scope, rank, name, then the stored bytes.</summary>
    public const int ObjectRecordLength = 4 + 4 + 1 + 4 + 4 + StoredLength;

    /// <summary>Bytes of where a chunk or entry lies, before its checksums: file, offset, length, block size, checksum count.</summary>
    public const int StoredLength = 4 + 8 + 8 + 4 + 4;

    /// <summary>True when <paramref name="bytes"/> start like the binary form (the JSON form starts with '{' or white space).</summary>
    public static bool IsBinary(ReadOnlySpan<byte> bytes) => bytes.Length > 0 && bytes[0] == Magic[0];

    /// <summary>
    /// The catalog's checksum of a committed metadata file: for the binary form, xxHash3-64 of its
    /// header and directory (which checksum everything else); for the JSON form, of all its bytes.
    /// A binary file too damaged to say where its directory ends is checksummed whole (it differs).
    /// </summary>
    public static ulong CatalogChecksum(ReadOnlySpan<byte> bytes) =>
        BlockChecksums.Of(IsBinary(bytes) && SealedLength(bytes) is { } sealedLength ? bytes[..sealedLength] : bytes);

    /// <summary>Bytes of header and directory as the header of <paramref name="bytes"/> says, or null when it cannot say (too short, a length past the end).</summary>
    public static int? SealedLength(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < HeaderLength) return null;
        var directory = BinaryPrimitives.ReadInt64LittleEndian(bytes[48..]);
        return directory >= 0 && directory <= bytes.Length - HeaderLength - SealLength ? HeaderLength + (int)directory : null;
    }

    /// <summary>
    /// The owner coordinate that pages the entries: 0 for a global entry, rank + 1 for a per-rank
    /// one, so a rank reads the pages of coordinates 0 and its own.
    /// </summary>
    public static long Owner(ObjectScope scope, int rank) => scope == ObjectScope.Global ? 0 : (long)rank + 1;
}

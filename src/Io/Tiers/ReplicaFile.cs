using System.Buffers.Binary;
using System.Globalization;
using System.IO.Hashing;
using System.Text;

namespace ActorCkpt;

/// <summary>
/// The tmpfs replica file: a checksummed binary header of H bytes (a multiple of 4 KiB), then the
/// data file exactly as <see cref="DataFileStreamWriter"/> writes it. All fields little-endian:
/// <code>
///  0  8 magic "ACKREPL1"      8 4 u32 H (header length)   12 4 u32 B (body length, 64 + B &lt;= H)
/// 16  8 u64 P (payload length; the file is H + P bytes)  24 8 i64 step
/// 32 16 save id (Guid, big-endian)   48 4 i32 rank   52 4 u32 items
/// 56  8 u64 xxh3-64 of [0,56) ++ [64,64+B)
/// 64  B data file name (u16 + UTF-8), safetensors header checksum (u64); per item: storage name
///       (u16 + UTF-8), offset u64, length u64, block size u32, block count u32, checksums u64 × count
/// ..  H zeros
/// </code>
/// The header length is known from the plan before a byte is written, so the payload is written in
/// place behind it and the header last.
/// </summary>
internal static class ReplicaFile
{
    /// <summary>The first 8 bytes of every replica.</summary>
    public static ReadOnlySpan<byte> Magic => "ACKREPL1"u8;

    /// <summary>The fixed part of the header, before the body.</summary>
    public const int FixedLength = 64;

    /// <summary>Header lengths are whole pages: the payload then starts page-aligned.</summary>
    public const int Page = 4096;

    /// <summary>The largest header accepted (about 8 M block checksums): anything larger is refused before it is read.</summary>
    public const int MaxHeaderLength = 64 << 20;

    // Body bytes of an item besides its name and checksums: name length, offset, length, block size, block count.
    private const int ItemFixed = 2 + 8 + 8 + 4 + 4;

    // Body bytes besides the items and the file name's bytes: its length and the safetensors header checksum.
    private const int BodyFixed = 2 + 8;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// The bytes the replica of <paramref name="plan"/> takes in tmpfs, as the budget counts them: its
    /// header, the safetensors header (without file metadata, a few dozen bytes short) and the data.
    /// </summary>
    public static long SizeOf(FileWritePlan plan, int maxBlockSize) =>
        HeaderLength(plan, maxBlockSize)
        + SafetensorsHeader.Build(plan.Items.Select(i => (i.StorageName, i.DType, i.Box.Lengths)).ToArray(), new Dictionary<string, string>()).Bytes.LongLength
        + plan.DataBytes;

    /// <summary>The header length of the replica of <paramref name="plan"/> checksummed in blocks of at most <paramref name="maxBlockSize"/> bytes.</summary>
    public static int HeaderLength(FileWritePlan plan, int maxBlockSize) =>
        HeaderLength(plan, plan.Items.Select(i => BlockChecksums.SizeFor(i.ByteLength, maxBlockSize)).ToArray());

    /// <summary>
    /// The header length of the replica of <paramref name="plan"/> with item i checksummed in blocks of
    /// <paramref name="blockSizes"/>[i] bytes; throws when it would be over <see cref="MaxHeaderLength"/>.
    /// </summary>
    public static int HeaderLength(FileWritePlan plan, IReadOnlyList<int> blockSizes)
    {
        if (blockSizes.Count != plan.Items.Count || blockSizes.Any(b => b <= 0))
            throw new ArgumentException($"'{plan.FileName}': {blockSizes.Count} block sizes for {plan.Items.Count} items, each must be positive", nameof(blockSizes));
        var body = BodyLength(plan.FileName, plan.Items.Select((item, i) => (item.StorageName, ((item.ByteLength + blockSizes[i] - 1) / blockSizes[i]))));
        return Pages(plan.FileName, body);
    }

    /// <summary>The <see cref="ReplicaHeader.HeaderLength"/> bytes of <paramref name="header"/>'s header, zeros after the body.</summary>
    public static byte[] Encode(ReplicaHeader header)
    {
        var result = header.Result;
        if (result.FileName != header.FileName || result.Length != header.PayloadLength)
            throw new ArgumentException($"'{header.FileName}': the result is of '{result.FileName}' ({result.Length} bytes), the header says {header.PayloadLength} bytes", nameof(header));
        var body = BodyLength(header.FileName, result.Items.Select(i => (i.StorageName, (long)i.Bytes.BlockChecksums.Count)));
        if (Pages(header.FileName, body) > header.HeaderLength || header.HeaderLength % Page != 0)
            throw new ArgumentException($"'{header.FileName}': a header of {header.HeaderLength} bytes cannot hold its {body}-byte body", nameof(header));
        if (!ulong.TryParse(result.HeaderChecksum, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var headerSum) || result.HeaderChecksum.Length != 16)
            throw new ArgumentException($"'{header.FileName}': header checksum '{result.HeaderChecksum}' is not 16 hex digits", nameof(header));

        var bytes = new byte[header.HeaderLength];
        var span = bytes.AsSpan();
        Magic.CopyTo(span);
        BinaryPrimitives.WriteUInt32LittleEndian(span[8..], (uint)header.HeaderLength);
        BinaryPrimitives.WriteUInt32LittleEndian(span[12..], (uint)body);
        BinaryPrimitives.WriteUInt64LittleEndian(span[16..], (ulong)header.PayloadLength);
        BinaryPrimitives.WriteInt64LittleEndian(span[24..], header.Step);
        header.SaveId.TryWriteBytes(span.Slice(32, 16), bigEndian: true, out _);
        BinaryPrimitives.WriteInt32LittleEndian(span[48..], header.Rank);
        BinaryPrimitives.WriteUInt32LittleEndian(span[52..], (uint)result.Items.Count);
        var at = FixedLength;
        at = WriteName(span, at, header.FileName);
        BinaryPrimitives.WriteUInt64LittleEndian(span[at..], headerSum);
        at += 8;
        foreach (var item in result.Items)
        {
            at = WriteName(span, at, item.StorageName);
            BinaryPrimitives.WriteUInt64LittleEndian(span[at..], (ulong)item.Bytes.Offset);
            BinaryPrimitives.WriteUInt64LittleEndian(span[(at + 8)..], (ulong)item.Bytes.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(span[(at + 16)..], (uint)item.Bytes.BlockSize);
            BinaryPrimitives.WriteUInt32LittleEndian(span[(at + 20)..], (uint)item.Bytes.BlockChecksums.Count);
            at += 24;
            foreach (var sum in item.Bytes.BlockChecksums)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(span[at..], sum);
                at += 8;
            }
        }
        BinaryPrimitives.WriteUInt64LittleEndian(span[56..], Checksum(span, (int)body));
        return bytes;
    }

    /// <summary>
    /// Reads and checks the header of the replica in <paramref name="reader"/> (the file at
    /// <paramref name="path"/>, named in every message), which must be of step <paramref name="step"/> and,
    /// when given, of data file <paramref name="dataFile"/>. The file is hostile until this returns:
    /// every length is bounded before anything is allocated for it; any fault is one
    /// <see cref="CheckpointFormatException"/> naming the file and the field.
    /// </summary>
    public static ReplicaHeader Decode(IBlobReader reader, string path, long step, string? dataFile = null)
    {
        CheckpointFormatException Bad(string problem) => new(path, "replica header: " + problem);
        var length = reader.Length;
        if (length < FixedLength) throw Bad($"the file is {length} bytes, shorter than the {FixedLength}-byte fixed header");
        Span<byte> head = stackalloc byte[FixedLength];
        reader.ReadExactly(head, 0);
        if (!head[..8].SequenceEqual(Magic)) throw Bad($"magic is '{Printable(head[..8])}', not 'ACKREPL1'");
        var h = BinaryPrimitives.ReadUInt32LittleEndian(head[8..]);
        var b = BinaryPrimitives.ReadUInt32LittleEndian(head[12..]);
        var p = BinaryPrimitives.ReadUInt64LittleEndian(head[16..]);
        var items = BinaryPrimitives.ReadUInt32LittleEndian(head[52..]);
        if (h < Page || h > MaxHeaderLength || h % Page != 0)
            throw Bad($"header length {h} is not a multiple of {Page} from {Page} to {MaxHeaderLength} bytes");
        if (b > h - FixedLength) throw Bad($"body length {b} does not fit a {h}-byte header");
        if (p > (ulong)(long.MaxValue - h) || (long)p + h != length)
            throw Bad($"the file is {length} bytes, not the header's {h} plus the payload's {p}");
        if (b < BodyFixed + 1 || items > (b - BodyFixed - 1) / (ItemFixed + 1))
            throw Bad($"item count {items} does not fit a body of {b} bytes");

        var header = new byte[FixedLength + b];
        head.CopyTo(header);
        reader.ReadExactly(header.AsSpan(FixedLength), FixedLength);
        var stored = BinaryPrimitives.ReadUInt64LittleEndian(head[56..]);
        var actual = Checksum(header, (int)b);
        if (stored != actual) throw Bad($"checksum {BlockChecksums.ToHex(actual)} differs from the {BlockChecksums.ToHex(stored)} recorded");

        var fileStep = BinaryPrimitives.ReadInt64LittleEndian(head[24..]);
        var saveId = new Guid(head.Slice(32, 16), bigEndian: true);
        var rank = BinaryPrimitives.ReadInt32LittleEndian(head[48..]);
        if (fileStep != step) throw Bad($"step {fileStep} is not its directory's step {step}");
        if (rank < 0) throw Bad($"rank {rank} is negative");

        var body = new Body(header, FixedLength, FixedLength + (int)b, Bad);
        var fileName = body.Name("data file name");
        if (!MetadataValidator.IsPlainFileName(fileName)) throw Bad($"data file name '{fileName}' is not a plain file name");
        if (dataFile is not null && fileName != dataFile) throw Bad($"data file name '{fileName}' is not the '{dataFile}' its name says");
        var headerSum = body.UInt64();
        var written = new WrittenItem[items];
        var names = new HashSet<string>(StringComparer.Ordinal);
        ulong end = 0;
        for (var i = 0; i < written.Length; i++)
        {
            var name = body.Name($"item {i}'s storage name");
            if (!names.Add(name)) throw Bad($"item {i} '{name}' is listed twice");
            var offset = body.UInt64();
            var itemLength = body.UInt64();
            var blockSize = body.UInt32();
            var count = body.UInt32();
            if (offset < end) throw Bad($"item {i} '{name}' at {offset} overlaps or precedes the item before it, which ends at {end}");
            if (itemLength > p || offset > p - itemLength) throw Bad($"item {i} '{name}' at {offset}+{itemLength} is outside the {p}-byte payload");
            if (blockSize is 0 or > int.MaxValue) throw Bad($"item {i} '{name}' has block size {blockSize}");
            var blocks = (itemLength + blockSize - 1) / blockSize;
            if (count != blocks) throw Bad($"item {i} '{name}' has {count} block checksums; {itemLength} bytes in blocks of {blockSize} need {blocks}");
            var sums = body.Checksums(count, $"item {i} '{name}'");
            end = offset + itemLength;
            written[i] = new WrittenItem(name, new StoredBytes(fileName, (long)offset, (long)itemLength, (int)blockSize, sums));
        }
        body.End();
        var result = new FileWriteResult(fileName, (long)p, written, BlockChecksums.ToHex(headerSum));
        return new ReplicaHeader(fileStep, saveId, rank, fileName, (long)p, (int)h, result);
    }

    /// <summary>The header checksum: xxh3-64 of the fixed fields before it and of the body.</summary>
    private static ulong Checksum(ReadOnlySpan<byte> header, int bodyLength)
    {
        var hasher = new XxHash3();
        hasher.Append(header[..56]);
        hasher.Append(header.Slice(FixedLength, bodyLength));
        return hasher.GetCurrentHashAsUInt64();
    }

    /// <summary>Bytes of the body holding <paramref name="fileName"/> and items of these names and block counts.</summary>
    private static long BodyLength(string fileName, IEnumerable<(string Name, long Blocks)> items)
    {
        var length = BodyFixed + (long)NameBytes(fileName);
        foreach (var (name, blocks) in items) length += ItemFixed + NameBytes(name) + 8 * blocks;
        return length;
    }

    /// <summary>Whole pages holding the fixed header and a body of <paramref name="body"/> bytes; throws over <see cref="MaxHeaderLength"/>.</summary>
    private static int Pages(string fileName, long body)
    {
        var pages = (FixedLength + body + Page - 1) / Page * Page;
        return pages <= MaxHeaderLength ? (int)pages
            : throw new ActorCkptException($"'{fileName}': its replica header would take {pages} bytes, over the {MaxHeaderLength} allowed (too many items or checksum blocks)");
    }

    /// <summary>The UTF-8 length of <paramref name="name"/>; throws unless a u16 holds it and it is not empty.</summary>
    private static int NameBytes(string name)
    {
        var n = StrictUtf8.GetByteCount(name);
        return n is > 0 and <= ushort.MaxValue ? n : throw new ArgumentException($"name '{name}' takes {n} UTF-8 bytes: 1 to {ushort.MaxValue} fit a replica header");
    }

    /// <summary>Writes <paramref name="name"/> as u16 length and UTF-8 at <paramref name="at"/>; returns where the next field starts.</summary>
    private static int WriteName(Span<byte> span, int at, string name)
    {
        var n = StrictUtf8.GetBytes(name, span[(at + 2)..]);
        BinaryPrimitives.WriteUInt16LittleEndian(span[at..], (ushort)n);
        return at + 2 + n;
    }

    /// <summary>Bytes shown in a message: printable ASCII as is, anything else as '?'.</summary>
    private static string Printable(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[bytes.Length];
        for (var i = 0; i < bytes.Length; i++) chars[i] = bytes[i] is >= 0x20 and < 0x7f ? (char)bytes[i] : '?';
        return new string(chars);
    }

    /// <summary>A cursor over the header body that refuses to read past its end.</summary>
    private sealed class Body(byte[] bytes, int at, int end, Func<string, CheckpointFormatException> bad)
    {
        private int _at = at;

        /// <summary>A u16-prefixed, non-empty UTF-8 name (<paramref name="what"/> names it in errors).</summary>
        public string Name(string what)
        {
            var n = BinaryPrimitives.ReadUInt16LittleEndian(Take(2, what));
            if (n == 0) throw bad($"{what} is empty");
            var raw = Take(n, what);
            try
            {
                return StrictUtf8.GetString(raw);
            }
            catch (DecoderFallbackException)
            {
                throw bad($"{what} is not valid UTF-8");
            }
        }

        /// <summary>The next u64.</summary>
        public ulong UInt64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8, "a 64-bit field"));

        /// <summary>The next u32.</summary>
        public uint UInt32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4, "a 32-bit field"));

        /// <summary><paramref name="count"/> u64 checksums, the count bounded by the bytes left before anything is allocated.</summary>
        public ulong[] Checksums(uint count, string what)
        {
            if (count > (uint)(end - _at) / 8) throw bad($"{what}'s {count} block checksums run past the body's end");
            var sums = new ulong[count];
            for (var i = 0; i < sums.Length; i++) sums[i] = UInt64();
            return sums;
        }

        /// <summary>Refuses bytes left after the last item: the body must be exactly what the items take.</summary>
        public void End()
        {
            if (_at != end) throw bad($"the body holds {end - _at} bytes after its last item");
        }

        /// <summary>The next <paramref name="n"/> bytes, refused past the body's end.</summary>
        private ReadOnlySpan<byte> Take(int n, string what)
        {
            if (n > end - _at) throw bad($"{what} runs past the body's end");
            var span = bytes.AsSpan(_at, n);
            _at += n;
            return span;
        }
    }
}

using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace ActorCkpt;

/// <summary>
/// Writes the binary metadata form (<see cref="MetadataBinary"/>) in one pass straight to a file:
/// sections go out through one pooled buffer as they are encoded, each checksummed on the way, and
/// the header and directory (small: a line per tensor) are written last at the start of the file.
/// The whole document is never held: at 4,096 ranks × 256 items it is tens of MB, the buffer 1 MiB.
/// The tensor sections, nearly all of the work, are encoded on every core a batch at a time (a few
/// MiB of output, see <see cref="TensorBatches"/>) and written out in order, byte for byte what one
/// thread writes.
/// </summary>
internal static class MetadataBinaryWriter
{
    private const int BufferBytes = 1 << 20;

    /// <summary>
    /// Chunks per parallel batch (a tensor counts as its chunks and one): about 4 MiB of pages at 4,096
    /// ranks (64 bytes a chunk), enough to keep every core busy between the ordered writes and little next
    /// to the metadata itself. A tensor with more chunks is encoded alone on the writing thread, so a batch
    /// never grows past it.
    /// </summary>
    internal const int BatchChunks = 1 << 16;

    /// <summary>
    /// Writes <paramref name="metadata"/> to <paramref name="writer"/> (not flushed); returns the file's
    /// length and its seal, the checksum the catalog records. Throws <see cref="ArgumentException"/> for
    /// metadata the form cannot hold: a version other than <see cref="CheckpointMetadata.CurrentFormatVersion"/>,
    /// a chunk or entry in a file the metadata does not list (<see cref="MetadataValidator"/> refuses both).
    /// </summary>
    public static (long Length, ulong Seal) Write(CheckpointMetadata metadata, IBlobWriter writer) =>
        Write(metadata, writer, Environment.ProcessorCount, BatchChunks);

    /// <summary>
    /// <see cref="Write(CheckpointMetadata, IBlobWriter)"/> on at most <paramref name="degree"/> threads (1: every
    /// section on the calling thread, as before batches), batching <paramref name="batchChunks"/> chunks: tests
    /// force both to check the output does not depend on them.
    /// </summary>
    internal static (long Length, ulong Seal) Write(CheckpointMetadata metadata, IBlobWriter writer, int degree, int batchChunks)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(degree, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchChunks, 1);
        if (metadata.FormatVersion != CheckpointMetadata.CurrentFormatVersion)
            throw new ArgumentException($"format_version {metadata.FormatVersion} cannot be written (this build writes {CheckpointMetadata.CurrentFormatVersion})", nameof(metadata));
        var fileIndex = new FileNumbers(metadata.Files);
        var tensors = metadata.Tensors.Values.OrderBy(t => t.Key, StringComparer.Ordinal).ToArray();
        // Saves refuse such tensors first (SavePlanValidator); written, the form's own reader would refuse them.
        if (tensors.FirstOrDefault(t => t.Shape.Count > MetadataBinary.MaxDimensions) is { } deep)
            throw new ArgumentException($"'{deep.Key}' has {deep.Shape.Count} dimensions: the binary form holds at most {MetadataBinary.MaxDimensions}", nameof(metadata));
        var keys = tensors.Select(t => Encoding.UTF8.GetBytes(t.Key)).ToArray();
        var directoryLength = 3 * MetadataBinary.SectionEntryLength + 4L;
        foreach (var (t, key) in tensors.Zip(keys))
            directoryLength = checked(directoryLength + 4 + key.Length + 1 + DTypes.ToSafetensors(t.DType).Length + 4 + 8L * t.Shape.Count + 8 + 24);
        var directory = new byte[checked(MetadataBinary.HeaderLength + (int)directoryLength + MetadataBinary.SealLength)];

        var strings = new StringPool();
        using var output = new Output(writer, directory.Length);
        var d = new SpanWriter(directory.AsSpan(MetadataBinary.HeaderLength));
        var objectSections = WriteObjects(output, metadata, fileIndex, strings);
        var tensorSections = degree == 1
            ? tensors.Select(t => WriteTensor(output, t, fileIndex, strings)).ToArray()
            : TensorBatches.Write(output, tensors, fileIndex, strings, degree, batchChunks);

        output.Begin();
        foreach (var f in metadata.Files)
        {
            var r = new SpanWriter(output.Take(MetadataBinary.FileRecordLength));
            r.U32(strings.Of(f.Name));
            r.U32(strings.Of(f.Node));
            r.U32(strings.Of(f.HeaderChecksum));
            r.I32(f.Rank);
            r.I32(f.Writer);
            r.U32(0);
            r.I64(f.Length);
        }
        var filesSection = output.End();
        output.Begin();
        strings.WriteTo(output);
        var stringsSection = output.End();
        output.Flush();
        var length = output.Position;

        Section(ref d, stringsSection, (uint)strings.Count, 0);
        Section(ref d, filesSection, (uint)metadata.Files.Count, 0);
        Section(ref d, objectSections.Index, (uint)objectSections.Pages, (uint)metadata.Objects.Count);
        d.U32((uint)tensors.Length);
        for (var i = 0; i < tensors.Length; i++)
        {
            var t = tensors[i];
            d.U32((uint)keys[i].Length);
            d.Bytes(keys[i]);
            var dtype = DTypes.ToSafetensors(t.DType);
            d.U8((byte)dtype.Length);
            d.Bytes(Encoding.ASCII.GetBytes(dtype));
            d.U32((uint)t.Shape.Count);
            foreach (var s in t.Shape) d.I64(s);
            d.U32((uint)t.Chunks.Count);
            d.U32((uint)tensorSections[i].Pages);
            d.I64(tensorSections[i].Index.Offset);
            d.I64(tensorSections[i].Index.Length);
            d.U64(tensorSections[i].Index.Checksum);
        }

        var h = new SpanWriter(directory);
        h.Bytes(MetadataBinary.Magic);
        h.U32(MetadataBinary.LayoutVersion);
        h.U32(MetadataBinary.HeaderLength);
        h.I64(metadata.Step);
        h.I32(metadata.WorldSize);
        h.U32(0);
        h.I64(metadata.CreatedUtc.UtcTicks);
        h.I64(length);
        h.I64(directoryLength);
        h.I64(0);
        var sealAt = MetadataBinary.HeaderLength + (int)directoryLength;
        var seal = XxHash3.HashToUInt64(directory.AsSpan(0, sealAt));
        BinaryPrimitives.WriteUInt64LittleEndian(directory.AsSpan(sealAt), seal);
        writer.Write(directory, 0);
        return (length, seal);
    }

    /// <summary>Writes <paramref name="metadata"/> to an array: for tests, tools and the fuzzer's seeds, never at commit.</summary>
    public static byte[] ToArray(CheckpointMetadata metadata) => ToArray(metadata, Environment.ProcessorCount, BatchChunks);

    /// <summary><see cref="ToArray(CheckpointMetadata)"/> with the degree and batch forced (see <see cref="Write(CheckpointMetadata, IBlobWriter, int, int)"/>).</summary>
    internal static byte[] ToArray(CheckpointMetadata metadata, int degree, int batchChunks)
    {
        using var memory = new MemoryWriter();
        Write(metadata, memory, degree, batchChunks);
        return memory.ToArray();
    }

    private static void Section(ref SpanWriter d, Region region, uint count, uint extra)
    {
        d.I64(region.Offset);
        d.I64(region.Length);
        d.U64(region.Checksum);
        d.U32(count);
        d.U32(extra);
    }

    /// <summary>The entries, ordered by owner (global first, then by rank) and paged; returns the page index's place and the page count.</summary>
    private static (Region Index, int Pages) WriteObjects(Output output, CheckpointMetadata metadata, FileNumbers fileIndex, StringPool strings)
    {
        var objects = metadata.Objects;
        var order = Enumerable.Range(0, objects.Count).OrderBy(i => MetadataBinary.Owner(objects[i].Scope, objects[i].Rank)).ToArray();
        var pages = new List<PageEntry>();
        for (var first = 0; first < order.Length; first += MetadataBinary.PageRecords)
        {
            var count = Math.Min(MetadataBinary.PageRecords, order.Length - first);
            long lo = long.MaxValue, hi = long.MinValue;
            output.Begin();
            for (var i = first; i < first + count; i++)
            {
                var o = objects[order[i]];
                var owner = MetadataBinary.Owner(o.Scope, o.Rank);
                lo = Math.Min(lo, owner);
                hi = Math.Max(hi, owner + 1);
                var r = new SpanWriter(output.Take(MetadataBinary.ObjectRecordLength + 8 * o.Bytes.BlockChecksums.Count));
                r.U32((uint)order[i]);
                r.U32(strings.Of(o.Key));
                r.U8(o.Scope == ObjectScope.Rank ? (byte)1 : (byte)0);
                r.I32(o.Rank);
                r.U32(o.StorageName == StorageNames.Entry(o.Key, o.Scope, o.Rank) ? MetadataBinary.CanonicalName : strings.Of(o.StorageName));
                Stored(ref r, o.Bytes, fileIndex, o.Key);
            }
            pages.Add(new PageEntry(output.End(), count, [lo], [hi]));
        }
        return (WriteIndex(output, pages, 1), pages.Count);
    }

    /// <summary>The chunks of <paramref name="t"/>, ordered by their offsets and paged; returns the page index's place and the page count.</summary>
    private static (Region Index, int Pages) WriteTensor(Output output, TensorMetadata t, FileNumbers fileIndex, IStringIds strings)
    {
        var pages = TensorPages(output, t, fileIndex, strings);
        return (WriteIndex(output, pages, t.Shape.Count), pages.Count);
    }

    /// <summary>The chunk pages of <paramref name="t"/> (no index), sorted when its chunks come out of order.</summary>
    private static List<PageEntry> TensorPages(Output output, TensorMetadata t, FileNumbers fileIndex, IStringIds strings)
    {
        // Row-major order puts neighbours in one page, so a page's box stays tight. Saves come
        // sorted already: the chunks are written in their order, checked as they go (a separate
        // pass would read a million chunk objects once more), and only when one is out of order
        // is the tensor written again, sorted, over what was written of it.
        var start = output.Position;
        if (TryWriteTensor(output, t, null, fileIndex, strings) is { } inOrder) return inOrder;
        output.Rewind(start);
        strings.Rewind(start);
        var chunks = t.Chunks;
        var order = new int[chunks.Count];
        for (var i = 0; i < order.Length; i++) order[i] = i;
        Array.Sort(order, (a, b) => Compare(chunks[a].Box, chunks[b].Box) is var c && c != 0 ? c : a.CompareTo(b));
        return TryWriteTensor(output, t, order, fileIndex, strings)!;
    }

    /// <summary>
    /// Writes <paramref name="t"/>'s chunks in <paramref name="order"/> (null: as they are), paged;
    /// with no order given, null as soon as a chunk comes before the one preceding it.
    /// </summary>
    private static List<PageEntry>? TryWriteTensor(Output output, TensorMetadata t, int[]? order, FileNumbers fileIndex, IStringIds strings)
    {
        var chunks = t.Chunks;
        var dims = t.Shape.Count;
        Span<long> previous = dims <= 16 ? stackalloc long[dims] : new long[dims];
        var pages = new List<PageEntry>();
        for (var first = 0; first < chunks.Count; first += MetadataBinary.PageRecords)
        {
            var count = Math.Min(MetadataBinary.PageRecords, chunks.Count - first);
            var lo = new long[dims];
            var hi = new long[dims];
            Array.Fill(lo, long.MaxValue);
            Array.Fill(hi, long.MinValue);
            output.Begin();
            for (var i = first; i < first + count; i++)
            {
                var index = order?[i] ?? i;
                var c = chunks[index];
                if (c.Box.Rank != dims)
                    throw new ArgumentException($"a chunk of '{t.Key}' has {c.Box.Rank} dimensions, its tensor {dims}", nameof(t));
                var offsets = c.Box.OffsetSpan;
                if (order is null)
                {
                    if (i > 0 && offsets.SequenceCompareTo(previous) < 0) return null;
                    offsets.CopyTo(previous);
                }
                var at = output.Position;
                var r = new SpanWriter(output.Take(MetadataBinary.ChunkRecordLength(dims) + 8 * c.Bytes.BlockChecksums.Count));
                r.U32((uint)index);
                var lengths = c.Box.LengthSpan;
                for (var k = 0; k < dims; k++) r.I64(offsets[k]);
                for (var k = 0; k < dims; k++) r.I64(lengths[k]);
                for (var k = 0; k < dims; k++)
                {
                    lo[k] = Math.Min(lo[k], offsets[k]);
                    hi[k] = Math.Max(hi[k], offsets[k] + lengths[k]);
                }
                r.I32(c.Rank);
                r.U32(IsCanonical(c.StorageName, t.Key, c.Box, t.Shape) ? MetadataBinary.CanonicalName : strings.Of(c.StorageName, at + 4 + 16L * dims + 4));
                Stored(ref r, c.Bytes, fileIndex, t.Key);
            }
            pages.Add(new PageEntry(output.End(), count, lo, hi));
        }
        return pages;
    }

    private static Region WriteIndex(Output output, List<PageEntry> pages, int dims)
    {
        output.Begin();
        IndexEntries(output.Take(pages.Count * MetadataBinary.PageEntryLength(dims)), pages, 0);
        return output.End();
    }

    /// <summary>The page index of <paramref name="pages"/>, whose offsets are <paramref name="shift"/> bytes before where they lie in the file.</summary>
    private static void IndexEntries(Span<byte> into, List<PageEntry> pages, long shift)
    {
        var r = new SpanWriter(into);
        foreach (var p in pages)
        {
            r.I64(p.Region.Offset + shift);
            r.I64(p.Region.Length);
            r.U64(p.Region.Checksum);
            r.U32((uint)p.Count);
            r.U32(0);
            foreach (var v in p.Low) r.I64(v);
            foreach (var v in p.High) r.I64(v);
        }
    }

    private static void Stored(ref SpanWriter r, StoredBytes b, FileNumbers fileIndex, string key)
    {
        if (!fileIndex.TryGetValue(b.File, out var file))
            throw new ArgumentException($"'{key}' is in file '{b.File}', which the metadata does not list");
        r.U32(file);
        r.I64(b.Offset);
        r.I64(b.Length);
        r.I32(b.BlockSize);
        var sums = b.BlockChecksums;
        r.U32((uint)sums.Count);
        // Indexed, not foreach: an interface enumerator per chunk is a million allocations at 4,096 ranks.
        for (var i = 0; i < sums.Count; i++) r.U64(sums[i]);
    }

    private static int Compare(TensorBox a, TensorBox b)
    {
        var x = a.OffsetSpan;
        var y = b.OffsetSpan;
        for (var i = 0; i < Math.Min(x.Length, y.Length); i++)
            if (x[i] != y[i]) return x[i].CompareTo(y[i]);
        return x.Length.CompareTo(y.Length);
    }

    /// <summary>True when <paramref name="name"/> is what <see cref="StorageNames.Chunk"/> gives, checked without building that string (once per chunk).</summary>
    public static bool IsCanonical(string name, string key, TensorBox box, IReadOnlyList<long> shape)
    {
        if (box.IsWhole(shape)) return name == key;
        var rest = name.AsSpan();
        if (!rest.StartsWith(key, StringComparison.Ordinal) || rest.Length <= key.Length || rest[key.Length] != '@') return false;
        rest = rest[(key.Length + 1)..];
        Span<char> digits = stackalloc char[20];
        var offsets = box.OffsetSpan;
        for (var i = 0; i < offsets.Length; i++)
        {
            if (i > 0)
            {
                if (rest.Length == 0 || rest[0] != ',') return false;
                rest = rest[1..];
            }
            offsets[i].TryFormat(digits, out var n, default, System.Globalization.CultureInfo.InvariantCulture);
            if (!rest.StartsWith(digits[..n], StringComparison.Ordinal)) return false;
            rest = rest[n..];
        }
        return rest.Length == 0;
    }

    /// <summary>
    /// Each file's number in the files section. A save's chunks come file by file, sharing one name
    /// string per file, so the last name found is checked by reference before hashing one.
    /// </summary>
    private sealed class FileNumbers
    {
        private readonly Dictionary<string, uint> _numbers = new(StringComparer.Ordinal);
        private string? _last;
        private uint _lastNumber;

        public FileNumbers(IReadOnlyList<DataFileMetadata> files)
        {
            for (var i = 0; i < files.Count; i++) _numbers.TryAdd(files[i].Name, (uint)i);
        }

        private FileNumbers(Dictionary<string, uint> numbers) => _numbers = numbers;

        /// <summary>The same numbers with a last-found of its own, for another thread (the dictionary is only read).</summary>
        public FileNumbers Fork() => new(_numbers);

        public bool TryGetValue(string name, out uint number)
        {
            if (ReferenceEquals(name, _last))
            {
                number = _lastNumber;
                return true;
            }
            if (!_numbers.TryGetValue(name, out number)) return false;
            (_last, _lastNumber) = (name, number);
            return true;
        }
    }

    /// <summary>Where a section or page lies and its checksum.</summary>
    internal readonly record struct Region(long Offset, long Length, ulong Checksum);

    private sealed record PageEntry(Region Region, int Count, long[] Low, long[] High);

    /// <summary>Every string the sections refer to, once each, in order of first use.</summary>
    private sealed class StringPool : IStringIds
    {
        private readonly Dictionary<string, uint> _index = new(StringComparer.Ordinal);
        private readonly List<string> _strings = new();

        public int Count => _strings.Count;

        uint IStringIds.Of(string text, long at) => Of(text);

        void IStringIds.Rewind(long position)
        {
        }

        public uint Of(string text)
        {
            if (_index.TryGetValue(text, out var i)) return i;
            i = (uint)_strings.Count;
            _index.Add(text, i);
            _strings.Add(text);
            return i;
        }

        /// <summary>The section: the count, the start of every string and the end of the last (relative to the text), then the UTF-8 text.</summary>
        public void WriteTo(Output output)
        {
            var r = new SpanWriter(output.Take(4));
            r.U32((uint)_strings.Count);
            long at = 0;
            foreach (var s in _strings)
            {
                new SpanWriter(output.Take(4)).U32((uint)at);
                at = checked(at + Encoding.UTF8.GetByteCount(s));
                if (at > uint.MaxValue) throw new ArgumentException("the metadata's strings take more than 4 GiB");
            }
            new SpanWriter(output.Take(4)).U32((uint)at);
            foreach (var s in _strings)
            {
                var span = output.Take(Encoding.UTF8.GetByteCount(s));
                Encoding.UTF8.GetBytes(s, span);
            }
        }
    }

    /// <summary>Numbers the strings a tensor's chunks name.</summary>
    private interface IStringIds
    {
        /// <summary>The number of <paramref name="text"/>, written at <paramref name="at"/> (a position of the output).</summary>
        uint Of(string text, long at);

        /// <summary>The output went back to <paramref name="position"/>: what was written after it is gone.</summary>
        void Rewind(long position);
    }

    /// <summary>
    /// A tensor's strings numbered on its own, by first use, with where each number was written: once the
    /// strings before the tensor's are known, <see cref="Renumber"/> gives each its number in the document
    /// (first use in the tensor's order is first use in the document's among the strings new to it, so
    /// the numbering is the one the single pass gives). Strings of a pass that was dropped keep their
    /// place, as they do in <see cref="StringPool"/>.
    /// </summary>
    private sealed class LocalStrings : IStringIds
    {
        private readonly Dictionary<string, uint> _index = new(StringComparer.Ordinal);
        private readonly List<string> _strings = new();
        private readonly List<(long At, uint Id)> _uses = new();

        public bool Used => _uses.Count > 0;

        public uint Of(string text, long at)
        {
            if (!_index.TryGetValue(text, out var i))
            {
                i = (uint)_strings.Count;
                _index.Add(text, i);
                _strings.Add(text);
            }
            _uses.Add((at, i));
            return i;
        }

        public void Rewind(long position) => _uses.RemoveAll(u => u.At >= position);

        /// <summary>Numbers the strings in <paramref name="pool"/>, in order of first use; called in the tensors' order.</summary>
        public uint[] Number(StringPool pool)
        {
            var numbers = new uint[_strings.Count];
            for (var i = 0; i < numbers.Length; i++) numbers[i] = pool.Of(_strings[i]);
            return numbers;
        }

        /// <summary>Writes the document's numbers over the local ones in <paramref name="bytes"/>.</summary>
        public void Renumber(Span<byte> bytes, uint[] numbers)
        {
            foreach (var (at, id) in _uses) BinaryPrimitives.WriteUInt32LittleEndian(bytes[(int)at..], numbers[id]);
        }
    }

    /// <summary>
    /// The tensor sections on several threads, in batches of at most <c>batchChunks</c> chunks: each
    /// tensor of a batch is encoded into its own memory (pages checksummed there, strings numbered
    /// locally); then, in the tensors' order, the strings get their numbers and the tensors their places;
    /// then in parallel the numbers are written in, the pages they changed checksummed again and the
    /// page indexes built; then the batch is written out in order. A failing tensor throws what the
    /// single pass throws: the first in the tensors' order.
    /// </summary>
    private static class TensorBatches
    {
        public static (Region Index, int Pages)[] Write(Output output, TensorMetadata[] tensors, FileNumbers fileIndex, StringPool strings, int degree, int batchChunks)
        {
            var sections = new (Region Index, int Pages)[tensors.Length];
            var options = new ParallelOptions { MaxDegreeOfParallelism = degree };
            for (var first = 0; first < tensors.Length;)
            {
                if (tensors[first].Chunks.Count + 1 > batchChunks)
                {
                    sections[first] = WriteTensor(output, tensors[first], fileIndex, strings);
                    first++;
                    continue;
                }
                // A tensor counts as its chunks and one more, so a batch of tiny tensors is bounded too.
                var end = first;
                for (long weight = 0; end < tensors.Length && weight + tensors[end].Chunks.Count + 1 <= batchChunks; end++)
                    weight += tensors[end].Chunks.Count + 1;
                Batch(output, tensors, first, end, fileIndex, strings, sections, options);
                first = end;
            }
            return sections;
        }

        private static void Batch(Output output, TensorMetadata[] tensors, int first, int end, FileNumbers fileIndex, StringPool strings,
            (Region Index, int Pages)[] sections, ParallelOptions options)
        {
            var n = end - first;
            var encoded = new Encoded[n];
            try
            {
                Parallel.For(0, n, options, () => fileIndex.Fork(), (i, _, files) =>
                {
                    var t = tensors[first + i];
                    // Room for the records without their block checksums; it grows when they need more.
                    var memory = new Output(null, 0, (int)Math.Min(1 << 20, 64 + (long)t.Chunks.Count * (MetadataBinary.ChunkRecordLength(t.Shape.Count) + 8)));
                    var local = new LocalStrings();
                    encoded[i] = new Encoded(memory, local);
                    try
                    {
                        encoded[i].Pages = TensorPages(memory, t, files, local);
                    }
                    catch (Exception e)
                    {
                        encoded[i].Failure = System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e);
                    }
                    return files;
                }, _ => { });
                foreach (var e in encoded)
                    e.Failure?.Throw();

                var at = output.Position;
                for (var i = 0; i < n; i++)
                {
                    var e = encoded[i];
                    e.Numbers = e.Strings.Number(strings);
                    e.Start = at;
                    e.IndexBytes = new byte[e.Pages!.Count * MetadataBinary.PageEntryLength(tensors[first + i].Shape.Count)];
                    at += e.Memory.Position + e.IndexBytes.Length;
                }

                Parallel.For(0, n, options, i =>
                {
                    var e = encoded[i];
                    var bytes = e.Memory.Written;
                    if (e.Strings.Used)
                    {
                        e.Strings.Renumber(bytes, e.Numbers!);
                        var pages = e.Pages!;
                        for (var p = 0; p < pages.Count; p++)
                        {
                            var region = pages[p].Region;
                            pages[p] = pages[p] with { Region = region with { Checksum = XxHash3.HashToUInt64(bytes.Slice((int)region.Offset, (int)region.Length)) } };
                        }
                    }
                    IndexEntries(e.IndexBytes, e.Pages!, e.Start);
                    sections[first + i] = (new Region(e.Start + e.Memory.Position, e.IndexBytes.Length, XxHash3.HashToUInt64(e.IndexBytes)), e.Pages!.Count);
                });

                foreach (var e in encoded)
                {
                    output.Put(e.Memory.Written);
                    output.Put(e.IndexBytes);
                }
            }
            finally
            {
                foreach (var e in encoded) e?.Memory.Dispose();
            }
        }

        /// <summary>One tensor of a batch, encoded at 0 in its own memory.</summary>
        private sealed class Encoded(Output memory, LocalStrings strings)
        {
            public Output Memory { get; } = memory;
            public LocalStrings Strings { get; } = strings;
            public List<PageEntry>? Pages { get; set; }
            public System.Runtime.ExceptionServices.ExceptionDispatchInfo? Failure { get; set; }
            public uint[]? Numbers { get; set; }
            public long Start { get; set; }
            public byte[] IndexBytes { get; set; } = [];
        }
    }

    /// <summary>Little-endian fields into a span, front to back.</summary>
    private ref struct SpanWriter(Span<byte> span)
    {
        private Span<byte> _rest = span;

        public void U8(byte v)
        {
            _rest[0] = v;
            _rest = _rest[1..];
        }

        public void U32(uint v)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(_rest, v);
            _rest = _rest[4..];
        }

        public void I32(int v)
        {
            BinaryPrimitives.WriteInt32LittleEndian(_rest, v);
            _rest = _rest[4..];
        }

        public void I64(long v)
        {
            BinaryPrimitives.WriteInt64LittleEndian(_rest, v);
            _rest = _rest[8..];
        }

        public void U64(ulong v)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(_rest, v);
            _rest = _rest[8..];
        }

        public void Bytes(ReadOnlySpan<byte> bytes)
        {
            bytes.CopyTo(_rest);
            _rest = _rest[bytes.Length..];
        }
    }

    /// <summary>
    /// The file from a given offset on, through one pooled buffer written out whenever it fills; the
    /// bytes between <see cref="Begin"/> and <see cref="End"/> are checksummed as they leave it. With
    /// no writer, the bytes stay in memory: the buffer grows instead (see <see cref="Written"/>).
    /// </summary>
    private sealed class Output(IBlobWriter? writer, long start, int capacity = BufferBytes) : IDisposable
    {
        private readonly XxHash3 _hash = new();
        private byte[] _buffer = ArrayPool<byte>.Shared.Rent(capacity);
        private long _written = start;
        private int _used, _hashed;
        private long _sectionStart;

        public long Position => _written + _used;

        /// <summary>Everything taken, with no writer.</summary>
        public Span<byte> Written => _buffer.AsSpan(0, _used);

        /// <summary>Writes <paramref name="bytes"/> next, between two sections (they are not checksummed here); large ones go straight to the writer, not through the buffer.</summary>
        public void Put(ReadOnlySpan<byte> bytes)
        {
            if (bytes.Length >= 1 << 16)
            {
                Flush();
                writer!.Write(bytes, _written);
                _written += bytes.Length;
                return;
            }
            bytes.CopyTo(Take(bytes.Length));
            _hashed = _used;
        }

        /// <summary>
        /// Goes back to <paramref name="position"/>, between two sections: what was taken after it is
        /// dropped, or, where already written out, written over by what is taken next.
        /// </summary>
        public void Rewind(long position)
        {
            if (position >= _written)
            {
                _used = (int)(position - _written);
            }
            else
            {
                _written = position;
                _used = 0;
            }
            _hashed = _used;
        }

        public void Begin()
        {
            _hash.Reset();
            _hashed = _used;
            _sectionStart = Position;
        }

        public Region End()
        {
            _hash.Append(_buffer.AsSpan(_hashed, _used - _hashed));
            _hashed = _used;
            return new Region(_sectionStart, Position - _sectionStart, _hash.GetCurrentHashAsUInt64());
        }

        /// <summary>The next <paramref name="count"/> bytes of the file, to be filled by the caller now.</summary>
        public Span<byte> Take(int count)
        {
            if (_buffer.Length - _used < count && writer is null)
            {
                var grown = ArrayPool<byte>.Shared.Rent((int)Math.Min(Array.MaxLength, Math.Max(2L * _buffer.Length, (long)_used + count)));
                _buffer.AsSpan(0, _used).CopyTo(grown);
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = grown;
            }
            else if (_buffer.Length - _used < count)
            {
                Flush();
                if (_buffer.Length < count)
                {
                    ArrayPool<byte>.Shared.Return(_buffer);
                    _buffer = ArrayPool<byte>.Shared.Rent(count);
                }
            }
            var span = _buffer.AsSpan(_used, count);
            _used += count;
            return span;
        }

        public void Flush()
        {
            _hash.Append(_buffer.AsSpan(_hashed, _used - _hashed));
            writer!.Write(_buffer.AsSpan(0, _used), _written);
            _written += _used;
            _used = _hashed = 0;
        }

        public void Dispose() => ArrayPool<byte>.Shared.Return(_buffer);
    }

    /// <summary>An <see cref="IBlobWriter"/> into memory.</summary>
    private sealed class MemoryWriter : IBlobWriter
    {
        private readonly MemoryStream _stream = new();

        public void Write(ReadOnlySpan<byte> data, long offset)
        {
            _stream.Position = offset;
            _stream.Write(data);
        }

        public void Flush()
        {
        }

        public byte[] ToArray() => _stream.ToArray();

        public void Dispose() => _stream.Dispose();
    }
}

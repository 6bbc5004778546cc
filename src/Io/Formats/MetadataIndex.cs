using System.IO.Hashing;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Text;

namespace ActorCkpt;

/// <summary>
/// A committed step's metadata opened by index: the header and directory (every tensor's key, dtype
/// and shape) are read and checked at once, and the rest only as asked: <see cref="ForRank"/> reads
/// the pages whose boxes meet the boxes a rank wants, <see cref="Overview"/> the entries and
/// <see cref="ReadAll"/> everything. Each part read is checked against the checksum the directory
/// (or a page index it checked) records for it, and every field is bounded, so any damage is one
/// <see cref="CheckpointFormatException"/> naming the file and the field. Reads go through an
/// <see cref="IBlobReader"/> (ranged reads, as an object store gives them) or bytes in memory.
/// A step in the JSON form is parsed whole and served as it is (<see cref="Whole"/>).
/// </summary>
internal sealed class MetadataIndex : IDisposable
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly CheckpointMetadata? _whole;
    private readonly IBlobReader? _reader;
    private readonly byte[]? _bytes;
    private readonly string _file;
    private readonly long _length, _dataStart;
    private readonly Region _strings, _files, _objects;
    private readonly int _stringCount, _fileCount, _objectPages, _objectCount;
    private readonly TensorEntry[] _tensors = [];
    private byte[]? _stringBytes;
    private string?[]? _stringCache;
    private byte[]? _fileBytes;
    private DataFileMetadata?[]? _fileCache;

    private MetadataIndex(CheckpointMetadata whole, string checksum)
    {
        _whole = whole;
        _file = "";
        Checksum = checksum;
        Step = whole.Step;
        WorldSize = whole.WorldSize;
        CreatedUtc = whole.CreatedUtc;
    }

    private MetadataIndex(IBlobReader? reader, byte[]? bytes, string file, string? expectedChecksum)
    {
        _reader = reader;
        _bytes = bytes;
        _file = file;
        _length = bytes?.Length ?? reader!.Length;
        const string header = "header";
        if (_length < MetadataBinary.HeaderLength + MetadataBinary.SealLength)
            throw MetadataFieldReader.Refuse(file, header, "(file)", $"is {_length} bytes, shorter than the {MetadataBinary.HeaderLength}-byte header and its seal");
        var head = ReadRaw(0, MetadataBinary.HeaderLength);
        var h = new MetadataFieldReader(head, file, header);
        if (!h.Take(8, "magic").SequenceEqual(MetadataBinary.Magic))
            throw h.Fail("magic", "is not 0x89 \"ACKMETA\": not ActorCkpt binary metadata");
        var version = h.U32("layout_version");
        if (version != MetadataBinary.LayoutVersion)
            throw h.Fail("layout_version", $"{version} is not supported (this build reads {MetadataBinary.LayoutVersion})");
        var headerLength = h.U32("header_length");
        if (headerLength != MetadataBinary.HeaderLength) throw h.Fail("header_length", $"{headerLength} is not {MetadataBinary.HeaderLength}");
        Step = h.I64("step");
        WorldSize = h.I32("world_size");
        var flags = h.U32("flags");
        if (flags != 0) throw h.Fail("flags", $"{flags} is not 0");
        var ticks = h.I64("created_utc");
        if (ticks < 0 || ticks > DateTime.MaxValue.Ticks) throw h.Fail("created_utc", $"{ticks} ticks is not a time");
        CreatedUtc = new DateTimeOffset(ticks, TimeSpan.Zero);
        var fileLength = h.I64("file_length");
        if (fileLength != _length) throw h.Fail("file_length", $"{fileLength} but the file is {_length} bytes");
        var directoryLength = h.I64("directory_length");
        if (directoryLength < 4 || directoryLength > _length - MetadataBinary.HeaderLength - MetadataBinary.SealLength || directoryLength > int.MaxValue - 1024)
            throw h.Fail("directory_length", $"{directoryLength} does not fit in a file of {_length} bytes with its header and seal");
        var reserved = h.I64("reserved");
        if (reserved != 0) throw h.Fail("reserved", $"{reserved} is not 0");

        var sealedLength = MetadataBinary.HeaderLength + (int)directoryLength;
        var sealedBytes = ReadRaw(0, sealedLength + MetadataBinary.SealLength);
        var seal = XxHash3.HashToUInt64(sealedBytes.AsSpan(0, sealedLength));
        Checksum = BlockChecksums.ToHex(seal);
        if (expectedChecksum is { Length: > 0 } && Checksum != expectedChecksum)
            throw new CheckpointFormatException(file, CheckpointStore.ChecksumDiffers(Checksum, expectedChecksum));
        var recorded = new MetadataFieldReader(sealedBytes.AsSpan(sealedLength), file, "seal").U64("seal");
        if (recorded != seal)
            throw MetadataFieldReader.Refuse(file, "seal", "seal", $"{recorded:x16} differs from the {seal:x16} of the header and directory: they were changed or corrupted");
        _dataStart = sealedLength + MetadataBinary.SealLength;

        var d = new MetadataFieldReader(sealedBytes.AsSpan(MetadataBinary.HeaderLength, (int)directoryLength), file, "directory");
        (_strings, _stringCount, _) = Section(ref d, "strings");
        (_files, _fileCount, var fileExtra) = Section(ref d, "files");
        if (fileExtra != 0) throw d.Fail("files.reserved", $"{fileExtra} is not 0");
        if (_files.Length != (long)_fileCount * MetadataBinary.FileRecordLength)
            throw d.Fail("files.length", $"{_files.Length} is not {_fileCount} records of {MetadataBinary.FileRecordLength} bytes");
        (_objects, _objectPages, var objectCount) = Section(ref d, "objects");
        if (_objects.Length != (long)_objectPages * MetadataBinary.PageEntryLength(1))
            throw d.Fail("objects.length", $"{_objects.Length} is not {_objectPages} page entries of {MetadataBinary.PageEntryLength(1)} bytes");
        _objectCount = objectCount <= _length / MetadataBinary.ObjectRecordLength ? (int)objectCount
            : throw d.Fail("objects.count", $"{objectCount} entries cannot fit in a file of {_length} bytes");

        var tensorCount = d.Count("tensor_count", 4 + 1 + 4 + 8 + 24);
        _tensors = new TensorEntry[tensorCount];
        // Records are stored whole after the directory: their total, not each count alone, must fit there
        // (each count bounded alone lets a small file claim the file's size once per tensor).
        var recordSpace = _length - _dataStart - (long)_objectCount * MetadataBinary.ObjectRecordLength;
        for (var i = 0; i < tensorCount; i++)
        {
            var keyBytes = d.Take(d.Count("key_length", 1), "key");
            var key = Utf8(keyBytes, ref d, "key");
            if (i > 0 && string.CompareOrdinal(_tensors[i - 1].Key, key) >= 0)
                throw d.Fail("key", $"'{key}' does not come after '{_tensors[i - 1].Key}': keys must be sorted and listed once");
            var dtypeCode = Utf8(d.Take(d.U8("dtype_length"), "dtype"), ref d, "dtype");
            DType dtype;
            try
            {
                dtype = DTypes.FromSafetensors(dtypeCode);
            }
            catch (ActorCkptException)
            {
                throw d.Fail("dtype", $"'{dtypeCode}' of tensor '{key}' is not a supported dtype");
            }
            var dims = d.Count("dims", 8);
            if (dims > MetadataBinary.MaxDimensions) throw d.Fail("dims", $"{dims} of tensor '{key}' is more than {MetadataBinary.MaxDimensions}");
            var shape = new long[dims];
            for (var k = 0; k < dims; k++) shape[k] = d.I64("shape");
            var chunkCount = d.U32("chunk_count");
            recordSpace -= chunkCount * (long)MetadataBinary.ChunkRecordLength(dims);
            if (recordSpace < 0)
                throw d.Fail("chunk_count", $"{chunkCount} chunks of tensor '{key}', with the records before them, cannot fit in a file of {_length} bytes");
            var pageCount = d.U32("page_count");
            var index = RegionAt(ref d, "page_index");
            if (index.Length != pageCount * (long)MetadataBinary.PageEntryLength(dims))
                throw d.Fail("page_index.length", $"{index.Length} of tensor '{key}' is not {pageCount} page entries of {MetadataBinary.PageEntryLength(dims)} bytes");
            _tensors[i] = new TensorEntry(key, dtype, shape, (int)chunkCount, (int)pageCount, index);
        }
        d.End();
    }

    /// <summary>The step the header names.</summary>
    public long Step { get; }

    /// <summary>The world size of the save.</summary>
    public int WorldSize { get; }

    /// <summary>When the save committed.</summary>
    public DateTimeOffset CreatedUtc { get; }

    /// <summary>The catalog's checksum of this metadata (see <see cref="MetadataBinary.CatalogChecksum"/>).</summary>
    public string Checksum { get; }

    /// <summary>True for the binary form, read by index; false for a JSON document parsed whole.</summary>
    public bool IsBinary => _whole is null;

    /// <summary>Every saved tensor, sorted by key: key, dtype, shape and chunk count.</summary>
    public IReadOnlyList<TensorEntry> Tensors => _whole is null ? _tensors
        : _whole.Tensors.Values.OrderBy(t => t.Key, StringComparer.Ordinal)
            .Select(t => new TensorEntry(t.Key, t.DType, t.Shape.ToArray(), t.Chunks.Count, 0, default)).ToArray();

    /// <summary>Opens the binary metadata <paramref name="file"/> through <paramref name="reader"/>, which the index then owns; see <see cref="MetadataIndex"/>.</summary>
    public static MetadataIndex Open(IBlobReader reader, string file, string? expectedChecksum)
    {
        try
        {
            return new MetadataIndex(reader, null, file, expectedChecksum);
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }

    /// <summary>Opens binary metadata held in memory.</summary>
    public static MetadataIndex Open(byte[] bytes, string file, string? expectedChecksum) => new(null, bytes, file, expectedChecksum);

    /// <summary>An index over metadata already parsed whole (the JSON form): every view is that metadata.</summary>
    public static MetadataIndex Whole(CheckpointMetadata metadata, string checksum) => new(metadata, checksum);

    /// <summary>
    /// What a load's <c>prepare</c> callback sees before the rank's boxes are known: every tensor
    /// with its dtype and shape but no chunks, every non-tensor entry, and the files those lie in.
    /// </summary>
    public CheckpointMetadata Overview()
    {
        // Chunkless in both forms, so what a caller's PrepareLoad sees does not depend on the form.
        if (_whole is not null)
            return _whole with { Tensors = _whole.Tensors.Values.ToDictionary(t => t.Key, t => t with { Chunks = Array.Empty<StoredChunk>() }, StringComparer.Ordinal) };
        var files = new SortedSet<uint>();
        var objects = ReadObjects(rank: null, files);
        var tensors = _tensors.ToDictionary(t => t.Key, t => new TensorMetadata(t.Key, t.DType, t.Shape, Array.Empty<StoredChunk>()), StringComparer.Ordinal);
        return Checked(new CheckpointMetadata(CheckpointMetadata.CurrentFormatVersion, Step, WorldSize, CreatedUtc, tensors, objects, FilesNamed(files)));
    }

    /// <summary>
    /// What rank <paramref name="rank"/> needs to load <paramref name="wanted"/>: every tensor with
    /// its dtype and shape, and of the wanted ones the chunks that overlap a wanted box; the global
    /// entries and the rank's own; the files all of these lie in. Enough for <see cref="LoadPlanner"/>
    /// (strictness, resharding) to plan exactly what it would against the whole metadata.
    /// </summary>
    public CheckpointMetadata ForRank(int rank, IReadOnlyList<WantedChunk> wanted)
    {
        if (_whole is not null) return _whole;
        var boxes = new Dictionary<string, List<TensorBox>>(StringComparer.Ordinal);
        foreach (var w in wanted)
        {
            if (!boxes.TryGetValue(w.Key, out var list)) boxes[w.Key] = list = new List<TensorBox>();
            list.Add(w.Box);
        }
        var files = new SortedSet<uint>();
        var tensors = new Dictionary<string, TensorMetadata>(_tensors.Length, StringComparer.Ordinal);
        foreach (var t in _tensors)
        {
            var chunks = boxes.TryGetValue(t.Key, out var want) && want.Any(b => b.Rank == t.Shape.Length)
                ? ReadChunks(t, want.Where(b => b.Rank == t.Shape.Length).ToList(), files)
                : Array.Empty<StoredChunk>();
            tensors.Add(t.Key, new TensorMetadata(t.Key, t.DType, t.Shape, chunks));
        }
        var objects = ReadObjects(rank, files);
        return Checked(new CheckpointMetadata(CheckpointMetadata.CurrentFormatVersion, Step, WorldSize, CreatedUtc, tensors, objects, FilesNamed(files)));
    }

    /// <summary>
    /// The whole metadata, every part read and checked; not yet validated as a whole
    /// (<see cref="MetadataValidator"/>). Tensors are decoded in parallel.
    /// </summary>
    public CheckpointMetadata ReadAll()
    {
        if (_whole is not null) return _whole;
        LoadStrings();
        LoadFiles();
        var files = new DataFileMetadata[_fileCount];
        for (var i = 0; i < files.Length; i++) files[i] = File((uint)i, "files");
        var objects = ReadObjects(rank: null, files: null);
        var decoded = new TensorMetadata[_tensors.Length];
        // Every tensor is read even when one is refused, and the first refused in key order is the
        // one reported: a damaged document names the same problem whichever thread met which first.
        var refused = new CheckpointFormatException?[_tensors.Length];
        Parallel.For(0, _tensors.Length, i =>
        {
            var t = _tensors[i];
            var packed = new PackedChunks(t.Key, t.Shape, t.ChunkCount);
            try
            {
                ReadChunks(t, wanted: null, files: null, packed);
            }
            catch (CheckpointFormatException e)
            {
                refused[i] = e;
                return;
            }
            decoded[i] = new TensorMetadata(t.Key, t.DType, t.Shape, packed);
        });
        if (refused.FirstOrDefault(e => e is not null) is { } first) ExceptionDispatchInfo.Capture(first).Throw();
        var tensors = new Dictionary<string, TensorMetadata>(decoded.Length, StringComparer.Ordinal);
        foreach (var t in decoded) tensors.Add(t.Key, t);
        return new CheckpointMetadata(CheckpointMetadata.CurrentFormatVersion, Step, WorldSize, CreatedUtc, tensors, objects, files);
    }

    /// <summary>Closes the file.</summary>
    public void Dispose() => _reader?.Dispose();

    /// <summary>Refuses, as the JSON form's reader does, part of the metadata that is not self-consistent (coverage aside: a part covers part).</summary>
    private CheckpointMetadata Checked(CheckpointMetadata part)
    {
        var problems = MetadataValidator.Validate(part, partial: true);
        return problems.Count == 0 ? part : throw new CheckpointFormatException(_file, "inconsistent metadata: " + Problems.Line(problems));
    }

    /// <summary>
    /// The chunks of <paramref name="t"/> (those overlapping <paramref name="wanted"/>, or all in
    /// their saved order when null), noting in <paramref name="files"/> the files they name. With
    /// <paramref name="packed"/> (and no <paramref name="wanted"/>) they go there instead, unbuilt.
    /// </summary>
    private StoredChunk[] ReadChunks(TensorEntry t, List<TensorBox>? wanted, SortedSet<uint>? files, PackedChunks? packed = null)
    {
        var dims = t.Shape.Length;
        var where = $"tensor '{t.Key}'";
        var pages = PageIndex(t.Index, t.PageCount, dims, where + " page index");
        // A whole read through a reader takes the tensor's pages in one read, not one per page.
        var window = packed is not null && _reader is not null ? PageWindow.Read(_reader, pages.Select(p => p.Region)) : null;
        try
        {
            return ReadChunks(t, pages, window, wanted, files, packed);
        }
        finally
        {
            window?.Dispose();
        }
    }

    /// <summary>The chunks of <paramref name="t"/> from its <paramref name="pages"/>, sliced from <paramref name="window"/> where it holds them.</summary>
    private StoredChunk[] ReadChunks(TensorEntry t, PageInfo[] pages, PageWindow? window, List<TensorBox>? wanted, SortedSet<uint>? files, PackedChunks? packed)
    {
        var dims = t.Shape.Length;
        var all = wanted is null && packed is null ? new StoredChunk[t.ChunkCount] : null;
        var placed = packed is null ? null : new bool[t.ChunkCount];
        var found = new List<StoredChunk>();
        long seen = 0;
        Span<long> corner = stackalloc long[2 * dims];
        for (var p = 0; p < pages.Length; p++)
        {
            var page = pages[p];
            if (wanted is not null && !wanted.Any(b => Overlaps(page.Low, page.High, b))) continue;
            var pageWhere = $"tensor '{t.Key}' page {p}";
            var bytes = Read(page.Region, pageWhere, "the page index", window);
            var r = new MetadataFieldReader(bytes.Span, _file, pageWhere);
            for (var n = 0; n < page.Count; n++)
            {
                var position = r.U32("position");
                if (position >= t.ChunkCount) throw r.Fail("position", $"{position} is not below the tensor's {t.ChunkCount} chunks");
                for (var k = 0; k < 2 * dims; k++) corner[k] = r.I64(k < dims ? "offsets" : "lengths");
                var offsets = corner[..dims];
                var lengths = corner[dims..];
                for (var k = 0; k < dims; k++)
                {
                    if (offsets[k] < 0 || lengths[k] < 0 || lengths[k] > long.MaxValue - offsets[k])
                        throw r.Fail("offsets", $"{Shapes.Format(offsets.ToArray())} / lengths {Shapes.Format(lengths.ToArray())} are negative or overflow 64 bits");
                    if (offsets[k] < page.Low[k] || offsets[k] + lengths[k] > page.High[k])
                        throw r.Fail("offsets", $"chunk {Shapes.Format(offsets.ToArray())} / {Shapes.Format(lengths.ToArray())} lies outside its page's box");
                }
                var rank = r.I32("rank");
                var name = r.U32("name");
                var stored = StoredFields(ref r);
                if (wanted is not null && !OverlapsAny(offsets, lengths, wanted))
                {
                    r.SkipLongs(stored.Count, "checksums");
                    continue;
                }
                if (placed is not null)
                {
                    // The checks and their order are the built path's below: name, checksums, file, position.
                    var text = name == MetadataBinary.CanonicalName ? null : String(name, ref r, "name");
                    var sums = Checksums(ref r, stored.Count);
                    var file = File(stored.File, "files").Name;
                    if (placed[position]) throw r.Fail("position", $"{position} is listed twice");
                    placed[position] = true;
                    packed!.Set((int)position, offsets, lengths, rank, text, file, stored.Offset, stored.Length, stored.BlockSize, sums);
                    seen++;
                    continue;
                }
                var box = TensorBox.Owning(offsets.ToArray(), lengths.ToArray());
                var chunk = new StoredChunk(box, name == MetadataBinary.CanonicalName ? PackedChunks.CanonicalName(t.Key, box, t.Shape) : String(name, ref r, "name"),
                    rank, Stored(stored, ref r, files));
                if (all is null) found.Add(chunk);
                else if (all[position] is not null) throw r.Fail("position", $"{position} is listed twice");
                else all[position] = chunk;
                seen++;
            }
            r.End();
        }
        if (all is null && placed is null) return found.ToArray();
        if (seen != t.ChunkCount)
            throw MetadataFieldReader.Refuse(_file, $"tensor '{t.Key}'", "chunk_count", $"{t.ChunkCount} but its pages hold {seen} chunks");
        return all ?? [];
    }

    /// <summary>The next <paramref name="count"/> checksums (the caller checked that they fit), without a copy where the machine is little-endian.</summary>
    private static ReadOnlySpan<ulong> Checksums(ref MetadataFieldReader r, int count)
    {
        if (BitConverter.IsLittleEndian) return MemoryMarshal.Cast<byte, ulong>(r.Take(8 * count, "checksums"));
        var sums = new ulong[count];
        for (var i = 0; i < sums.Length; i++) sums[i] = r.U64("checksums");
        return sums;
    }

    /// <summary>The entries (all, or the global ones and rank <paramref name="rank"/>'s) in their saved order, noting the files they name.</summary>
    private List<ObjectMetadata> ReadObjects(int? rank, SortedSet<uint>? files)
    {
        var pages = PageIndex(_objects, _objectPages, 1, "entries page index");
        var all = rank is null ? new ObjectMetadata?[_objectCount] : null;
        var found = new List<(uint Position, ObjectMetadata Entry)>();
        long seen = 0;
        for (var p = 0; p < pages.Length; p++)
        {
            var page = pages[p];
            if (rank is { } mine && !(InRange(page, 0) || InRange(page, (long)mine + 1))) continue;
            var where = $"entries page {p}";
            var bytes = Read(page.Region, where, "the entries page index");
            var r = new MetadataFieldReader(bytes.Span, _file, where);
            for (var n = 0; n < page.Count; n++)
            {
                var position = r.U32("position");
                if (position >= _objectCount) throw r.Fail("position", $"{position} is not below the {_objectCount} entries");
                var key = String(r.U32("key"), ref r, "key");
                var scopeCode = r.U8("scope");
                if (scopeCode > 1) throw r.Fail("scope", $"{scopeCode} is neither 0 (global) nor 1 (rank)");
                var scope = scopeCode == 1 ? ObjectScope.Rank : ObjectScope.Global;
                var owner = r.I32("rank");
                if (!InRange(page, MetadataBinary.Owner(scope, owner))) throw r.Fail("rank", $"entry '{key}' lies outside its page's range of owners");
                var name = r.U32("name");
                var stored = StoredFields(ref r);
                if (rank is { } me && scope == ObjectScope.Rank && owner != me)
                {
                    r.SkipLongs(stored.Count, "checksums");
                    continue;
                }
                var entry = new ObjectMetadata(key, scope, owner,
                    name == MetadataBinary.CanonicalName ? StorageNames.Entry(key, scope, owner) : String(name, ref r, "name"), Stored(stored, ref r, files));
                if (all is null) found.Add((position, entry));
                else if (all[position] is not null) throw r.Fail("position", $"{position} is listed twice");
                else all[position] = entry;
                seen++;
            }
            r.End();
        }
        if (all is null) return found.OrderBy(f => f.Position).Select(f => f.Entry).ToList();
        if (seen != _objectCount)
            throw MetadataFieldReader.Refuse(_file, "directory", "objects.count", $"{_objectCount} but the pages hold {seen} entries");
        return all.Select(o => o!).ToList();
    }

    private static bool InRange(PageInfo page, long owner) => page.Low[0] <= owner && owner < page.High[0];

    /// <summary>A chunk's or entry's place before its checksums: file, offset, length, block size, checksum count.</summary>
    private readonly record struct StoredHead(uint File, long Offset, long Length, int BlockSize, int Count);

    private StoredHead StoredFields(ref MetadataFieldReader r)
    {
        var file = r.U32("file");
        if (file >= _fileCount) throw r.Fail("file", $"{file} is not below the {_fileCount} files");
        var offset = r.I64("offset");
        var length = r.I64("length");
        var blockSize = r.I32("block_size");
        var count = r.Count("checksum_count", 8);
        return new StoredHead(file, offset, length, blockSize, count);
    }

    private StoredBytes Stored(StoredHead head, ref MetadataFieldReader r, SortedSet<uint>? files)
    {
        var sums = new ulong[head.Count];
        for (var i = 0; i < sums.Length; i++) sums[i] = r.U64("checksums");
        files?.Add(head.File);
        return new StoredBytes(File(head.File, "files").Name, head.Offset, head.Length, head.BlockSize, sums);
    }

    private List<DataFileMetadata> FilesNamed(SortedSet<uint> files) => files.Select(i => File(i, "files")).ToList();

    /// <summary>File record <paramref name="index"/> (below the count, checked by the caller).</summary>
    private DataFileMetadata File(uint index, string where)
    {
        LoadFiles();
        if (_fileCache![index] is { } cached) return cached;
        var r = new MetadataFieldReader(_fileBytes.AsSpan((int)index * MetadataBinary.FileRecordLength, MetadataBinary.FileRecordLength), _file, $"file {index}");
        var name = String(r.U32("name"), ref r, "name");
        var node = String(r.U32("node"), ref r, "node");
        var header = String(r.U32("header_checksum"), ref r, "header_checksum");
        var rank = r.I32("rank");
        var writer = r.I32("writer");
        var reserved = r.U32("reserved");
        if (reserved != 0) throw r.Fail("reserved", $"{reserved} is not 0");
        var length = r.I64("length");
        return _fileCache[index] = new DataFileMetadata(name, length, rank, writer, node, header);
    }

    private void LoadFiles()
    {
        if (_fileBytes is not null) return;
        _fileCache = new DataFileMetadata?[_fileCount];
        _fileBytes = Read(_files, "files", "the directory").ToArray();
    }

    private void LoadStrings()
    {
        if (_stringBytes is not null) return;
        var bytes = Read(_strings, "strings", "the directory").ToArray();
        var r = new MetadataFieldReader(bytes, _file, "strings");
        var count = r.U32("count");
        if (count != _stringCount) throw r.Fail("count", $"{count} differs from the directory's {_stringCount}");
        if (count >= int.MaxValue / 4 || (count + 1L) * 4 > r.Remaining)
            throw r.Fail("count", $"{count} strings need more than the {r.Remaining} bytes there are");
        _stringCache = new string?[count];
        _stringBytes = bytes;
    }

    /// <summary>String <paramref name="index"/> of the pool, decoded once.</summary>
    private string String(uint index, ref MetadataFieldReader r, string field)
    {
        LoadStrings();
        if (index >= _stringCount) throw r.Fail(field, $"{index} is not below the {_stringCount} strings");
        if (_stringCache![index] is { } cached) return cached;
        var table = new MetadataFieldReader(_stringBytes.AsSpan(4 + (int)index * 4, 8), _file, "strings");
        long start = table.U32("start"), end = table.U32("start");
        var text = _stringBytes.AsSpan(4 + (_stringCount + 1) * 4);
        if (start > end || end > text.Length) throw r.Fail(field, $"string {index} spans bytes {start} to {end} of {text.Length}");
        return _stringCache[index] = Utf8(text[(int)start..(int)end], ref r, field);
    }

    private static string Utf8(ReadOnlySpan<byte> bytes, ref MetadataFieldReader r, string field)
    {
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw r.Fail(field, "is not UTF-8");
        }
    }

    private PageInfo[] PageIndex(Region region, int count, int dims, string where)
    {
        var bytes = Read(region, where, "the directory");
        var r = new MetadataFieldReader(bytes.Span, _file, where);
        var pages = new PageInfo[count];
        for (var p = 0; p < count; p++)
        {
            var page = RegionAt(ref r, "page");
            var records = r.U32("count");
            var reserved = r.U32("reserved");
            if (reserved != 0) throw r.Fail("reserved", $"{reserved} is not 0");
            var low = new long[dims];
            var high = new long[dims];
            for (var k = 0; k < dims; k++) low[k] = r.I64("low");
            for (var k = 0; k < dims; k++) high[k] = r.I64("high");
            pages[p] = new PageInfo(page, records <= page.Length / 4 ? (int)records : throw r.Fail("count", $"{records} records cannot fit in a page of {page.Length} bytes"), low, high);
        }
        r.End();
        return pages;
    }

    /// <summary>True when a box [offsets, offsets + lengths) shares an element with <paramref name="box"/> (always, for scalars; never, for an empty box).</summary>
    private static bool Overlaps(ReadOnlySpan<long> offsets, ReadOnlySpan<long> lengths, TensorBox box)
    {
        var o = box.OffsetSpan;
        var l = box.LengthSpan;
        for (var k = 0; k < offsets.Length; k++)
            if (l[k] == 0 || lengths[k] == 0 || offsets[k] >= o[k] + l[k] || o[k] >= offsets[k] + lengths[k]) return false;
        return true;
    }

    private static bool OverlapsAny(ReadOnlySpan<long> offsets, ReadOnlySpan<long> lengths, List<TensorBox> boxes)
    {
        foreach (var b in boxes)
            if (Overlaps(offsets, lengths, b)) return true;
        return false;
    }

    /// <summary>True when the page box [low, high) may share an element with <paramref name="box"/>.</summary>
    private static bool Overlaps(long[] low, long[] high, TensorBox box)
    {
        var o = box.OffsetSpan;
        var l = box.LengthSpan;
        for (var k = 0; k < low.Length; k++)
            if (l[k] == 0 || low[k] >= o[k] + l[k] || o[k] >= high[k]) return false;
        return true;
    }

    private (Region Region, int Count, uint Extra) Section(ref MetadataFieldReader d, string name)
    {
        var region = RegionAt(ref d, name);
        var count = d.U32(name + ".count");
        var extra = d.U32(name + ".extra");
        if (count > region.Length) throw d.Fail(name + ".count", $"{count} items cannot fit in its {region.Length} bytes");
        return (region, (int)count, extra);
    }

    /// <summary>Reads offset, length and checksum of a part, which must lie after the directory and inside the file.</summary>
    private Region RegionAt(ref MetadataFieldReader r, string name)
    {
        var offset = r.I64(name + ".offset");
        var length = r.I64(name + ".length");
        var checksum = r.U64(name + ".checksum");
        if (offset < _dataStart || length < 0 || length > _length - offset || length > Array.MaxLength)
            throw r.Fail(name + ".offset", $"{offset} + length {length} do not lie between the directory's end ({_dataStart}) and the file's ({_length})");
        return new Region(offset, length, checksum);
    }

    /// <summary>
    /// The bytes of <paramref name="region"/> (from <paramref name="window"/> when it holds them),
    /// refused unless their checksum is the one <paramref name="recordedBy"/> records.
    /// </summary>
    private ReadOnlyMemory<byte> Read(Region region, string where, string recordedBy, PageWindow? window = null)
    {
        var bytes = _bytes is not null ? _bytes.AsMemory((int)region.Offset, (int)region.Length)
            : window?.Slice(region) ?? ReadRaw(region.Offset, (int)region.Length);
        var actual = XxHash3.HashToUInt64(bytes.Span);
        if (actual != region.Checksum)
            throw MetadataFieldReader.Refuse(_file, where, "checksum", $"{actual:x16} differs from the {region.Checksum:x16} {recordedBy} records: the part was changed or corrupted");
        return bytes;
    }

    private byte[] ReadRaw(long offset, int length)
    {
        var buffer = new byte[length];
        if (_bytes is not null) _bytes.AsSpan((int)offset, length).CopyTo(buffer);
        else _reader!.ReadExactly(buffer, offset);
        return buffer;
    }

    /// <summary>A part of the file and its checksum.</summary>
    internal readonly record struct Region(long Offset, long Length, ulong Checksum);

    /// <summary>A page: where it lies, its record count, and the box (or owner range) of every record in it.</summary>
    private sealed record PageInfo(Region Region, int Count, long[] Low, long[] High);

    /// <summary>A tensor of the directory.</summary>
    /// <param name="Key">Its key.</param>
    /// <param name="DType">Its element type.</param>
    /// <param name="Shape">Its global shape.</param>
    /// <param name="ChunkCount">How many chunks it was saved in.</param>
    /// <param name="PageCount">How many pages hold them.</param>
    /// <param name="Index">Where its page index lies.</param>
    internal sealed record TensorEntry(string Key, DType DType, long[] Shape, int ChunkCount, int PageCount, Region Index);
}

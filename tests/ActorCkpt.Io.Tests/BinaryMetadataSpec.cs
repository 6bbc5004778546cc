using System.Buffers.Binary;
using FsCheck;
using FsCheck.Xunit;

namespace ActorCkpt.Io.Tests;

/// <summary>
/// The binary metadata form (layout 2), property by property: it round-trips every field the JSON
/// form has, a rank's read by index returns exactly the chunks its boxes overlap, and truncated or
/// hostile bytes (with every checksum made to hold) are refused with one <see cref="CheckpointFormatException"/>.
/// </summary>
public class BinaryMetadataSpec
{
    private const string File = "step-00000001/metadata.json";

    /// <summary>
    /// The whole read both ways the store makes it: of the bytes in memory, and by index through a
    /// reader, a tensor's pages at a time (a local file). Both must accept alike, with the same
    /// metadata, or refuse alike, with the same message.
    /// </summary>
    private static CheckpointMetadata Read(byte[] bytes)
    {
        CheckpointMetadata? throughReader = null;
        CheckpointFormatException? refusedThere = null;
        try
        {
            throughReader = CheckpointStore.Deserialize(new CountingReader(bytes), File, CheckpointStore.DefaultMaxMetadataBytes, expectedChecksum: null).Metadata;
        }
        catch (CheckpointFormatException e)
        {
            refusedThere = e;
        }
        CheckpointMetadata read;
        try
        {
            read = CheckpointStore.Deserialize(bytes, File);
        }
        catch (CheckpointFormatException e)
        {
            Assert.Equal(e.Message, refusedThere?.Message);
            throw;
        }
        Assert.Null(refusedThere);
        Assert.Equal(MetadataJson.Serialize(read), MetadataJson.Serialize(throughReader!));
        return read;
    }

    [Property(MaxTest = 300)]
    public void Binary_metadata_should_round_trip_every_field_the_JSON_form_has(int seed, byte size)
    {
        var metadata = RandomMetadata.Create(seed, 1 + size % 8);
        Assert.Equal("", string.Join("; ", MetadataValidator.Validate(metadata)));

        var bytes = MetadataBinaryWriter.ToArray(metadata);
        var read = Read(bytes);

        // The JSON form holds every field (and the order of chunks, entries and files): equal documents, equal metadata.
        Assert.Equal(System.Text.Encoding.UTF8.GetString(MetadataJson.Serialize(metadata)), System.Text.Encoding.UTF8.GetString(MetadataJson.Serialize(read)));
        Assert.Equal(metadata.CreatedUtc.UtcTicks, read.CreatedUtc.UtcTicks);
        Assert.True(MetadataBinary.IsBinary(bytes));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(29_998)]
    public void A_tensor_of_many_chunks_should_round_trip_in_order_whichever_chunk_is_out_of_place(int swapped)
    {
        // Several MiB of chunks, so the writer has written part of the tensor out before it meets the
        // chunk out of place (-1: none is), and writes the tensor again, sorted, over that part.
        var metadata = ManyChunks(swapped);

        var bytes = MetadataBinaryWriter.ToArray(metadata);

        Assert.True(bytes.Length > 2 << 20, $"{bytes.Length} bytes");
        Assert.Equal(System.Text.Encoding.UTF8.GetString(MetadataJson.Serialize(metadata)), System.Text.Encoding.UTF8.GetString(MetadataJson.Serialize(Read(bytes))));
        // Nothing of the first try is left behind: as long as the same chunks in order.
        Assert.Equal(MetadataBinaryWriter.ToArray(ManyChunks(-1)).Length, bytes.Length);
    }

    [Fact]
    public void A_whole_read_through_a_reader_should_read_a_tensors_pages_at_once()
    {
        var bytes = MetadataBinaryWriter.ToArray(ManyChunks(-1));
        var reader = new CountingReader(bytes);

        var (read, checksum) = CheckpointStore.Deserialize(reader, File, CheckpointStore.DefaultMaxMetadataBytes, CheckpointStore.Checksum(bytes));

        Assert.Equal(30_000, read.Tensors["w"].Chunks.Count);
        Assert.Equal(CheckpointStore.Checksum(bytes), checksum);
        // 469 pages of 64 chunks. Read: the first byte, the header, header and directory, the strings,
        // the files, the entries' page index, the tensor's page index, and its pages in one read.
        Assert.Equal(8, reader.Reads);
        Assert.True(reader.Disposed);
    }

    [Fact]
    public void A_whole_read_through_a_reader_should_refuse_a_document_over_the_bound_before_reading_it()
    {
        var bytes = MetadataBinaryWriter.ToArray(ManyChunks(-1));
        var reader = new CountingReader(bytes);

        var e = Assert.Throws<CheckpointFormatException>(() => CheckpointStore.Deserialize(reader, File, bytes.Length - 1, expectedChecksum: null));

        Assert.Contains($"{bytes.Length}", e.Message);
        Assert.Equal(0, reader.Reads);
        Assert.True(reader.Disposed);
    }

    [Fact]
    public void A_file_with_a_problem_in_every_chunk_should_be_refused_with_one_short_line()
    {
        // Block size 4 is not a multiple of 8: each of the 30,000 chunks is wrong the same way.
        var e = Assert.Throws<CheckpointFormatException>(() => Read(MetadataBinaryWriter.ToArray(ManyChunks(-1, blockSize: 4))));

        Assert.EndsWith($"; and {30_000 - Problems.Named} more", e.Message);
        Assert.Equal(Problems.Named, e.Message.Split("checksum block size 4 is not a positive multiple of 8").Length - 1);
        Assert.DoesNotContain('\n', e.Message);
    }

    /// <summary>A tensor of 30,000 one-row chunks in row order, but for chunks <paramref name="swapped"/> and the next, swapped.</summary>
    private static CheckpointMetadata ManyChunks(int swapped, int blockSize = 8)
    {
        const int rows = 30_000;
        var shape = new long[] { rows, 16 };
        var boxes = Enumerable.Range(0, rows).Select(r => new TensorBox(new long[] { r, 0 }, new long[] { 1, 16 })).ToList();
        if (swapped >= 0) (boxes[swapped], boxes[swapped + 1]) = (boxes[swapped + 1], boxes[swapped]);
        var chunks = boxes.Select((b, i) => new StoredChunk(b, StorageNames.Chunk("w", b, shape), i % 7,
            new StoredBytes("d.safetensors", 64L * i, 64, blockSize, Enumerable.Range(0, 64 / blockSize).Select(k => (ulong)(i * 8 + k)).ToArray()))).ToArray();
        return new CheckpointMetadata(CheckpointMetadata.CurrentFormatVersion, 1, 7, DateTimeOffset.UnixEpoch,
            new Dictionary<string, TensorMetadata> { ["w"] = new("w", DType.Float32, shape, chunks) }, Array.Empty<ObjectMetadata>(),
            new[] { new DataFileMetadata("d.safetensors", 64L * rows, 0, 0, "n") });
    }

    [Property(MaxTest = 300)]
    public void A_ranks_read_by_index_should_return_exactly_the_chunks_its_boxes_overlap(int seed, byte size)
    {
        var metadata = RandomMetadata.Create(seed, 1 + size % 8);
        var rng = new Random(seed ^ 0x5bd1e995);
        var rank = rng.Next(0, 5);
        var wanted = metadata.Tensors.Values.Where(_ => rng.Next(3) > 0)
            .SelectMany(t => Enumerable.Range(0, rng.Next(1, 3)).Select(_ => new WantedChunk(0, t.Key, t.DType, t.Shape, RandomMetadata.BoxIn(rng, t.Shape.ToArray()))))
            .ToArray();
        using var index = MetadataIndex.Open(MetadataBinaryWriter.ToArray(metadata), File, null);

        var part = index.ForRank(rank, wanted);

        Assert.Equal(metadata.Tensors.Keys.Order(StringComparer.Ordinal), part.Tensors.Keys.Order(StringComparer.Ordinal));
        foreach (var t in metadata.Tensors.Values)
        {
            var boxes = wanted.Where(w => w.Key == t.Key).Select(w => w.Box).ToList();
            var expected = t.Chunks.Where(c => boxes.Any(b => c.Box.Intersect(b) is not null)).Select(Describe).Order(StringComparer.Ordinal);
            Assert.Equal(expected, part.Tensors[t.Key].Chunks.Select(Describe).Order(StringComparer.Ordinal));
            Assert.Equal(t.DType, part.Tensors[t.Key].DType);
            Assert.Equal(t.Shape, part.Tensors[t.Key].Shape);
        }
        var objects = metadata.Objects.Where(o => o.Scope == ObjectScope.Global || o.Rank == rank).ToList();
        Assert.Equal(objects.Select(Describe), part.Objects.Select(Describe));
        var named = part.Tensors.Values.SelectMany(t => t.Chunks.Select(c => c.Bytes.File)).Concat(objects.Select(o => o.Bytes.File)).ToHashSet();
        Assert.Equal(metadata.Files.Where(f => named.Contains(f.Name)), part.Files);
        Assert.Equal((metadata.Step, metadata.WorldSize, metadata.CreatedUtc), (part.Step, part.WorldSize, part.CreatedUtc));
    }

    [Fact]
    public void Every_truncation_of_a_document_should_be_refused_with_one_format_error()
    {
        var bytes = MetadataBinaryWriter.ToArray(RandomMetadata.Create(7, 4));

        for (var length = 0; length < bytes.Length; length++)
        {
            var prefix = bytes[..length];
            var e = Record.Exception(() => Read(prefix));
            Assert.True(e is CheckpointFormatException, $"{length} bytes of {bytes.Length}: {e?.GetType().Name ?? "accepted"} {e?.Message}");
            if (length < 8) continue;
            var ranked = Record.Exception(() => MetadataIndex.Open(prefix, File, null).ForRank(0, []));
            Assert.True(ranked is CheckpointFormatException, $"{length} bytes by index: {ranked?.GetType().Name ?? "accepted"}");
        }
    }

    [Property(MaxTest = 500)]
    public void Flipped_bits_with_every_checksum_made_to_hold_should_be_accepted_or_refused_with_one_format_error(int seed, byte size, PositiveInt flips)
    {
        var metadata = RandomMetadata.Create(seed, 1 + size % 6);
        var rng = new Random(seed);
        var bytes = MetadataBinaryWriter.ToArray(metadata);
        for (var i = 0; i < 1 + flips.Get % 4; i++)
        {
            var at = rng.Next(8, bytes.Length);
            bytes[at] ^= (byte)(1 << rng.Next(8));
        }
        var hostile = MetadataResealer.Reseal(bytes);

        var whole = Record.Exception(() => Read(hostile));
        var ranked = Record.Exception(() =>
        {
            using var index = MetadataIndex.Open(hostile, File, null);
            index.Overview();
            index.ForRank(rng.Next(0, 5), metadata.Tensors.Values.Select(t => new WantedChunk(0, t.Key, t.DType, t.Shape, TensorBox.Whole(t.Shape))).ToArray());
        });

        Assert.True(whole is null or CheckpointFormatException, whole?.ToString());
        Assert.True(ranked is null or CheckpointFormatException, ranked?.ToString());
    }

    [Fact]
    public void A_huge_tensor_count_should_be_refused_naming_the_field()
    {
        var bytes = MetadataBinaryWriter.ToArray(RandomMetadata.Create(3, 3));
        var dirLength = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(48));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(64 + 96), uint.MaxValue);

        var e = Assert.Throws<CheckpointFormatException>(() => Read(MetadataResealer.Reseal(bytes)));

        Assert.Equal($"'{File}': binary metadata, directory: \"tensor_count\" 4294967295 items of 41 bytes cannot fit in the {dirLength - 100} bytes there are", e.Message);
    }

    [Fact]
    public void Chunk_counts_that_fit_the_file_one_by_one_but_not_together_should_be_refused_before_reading_pages()
    {
        // 2,000 tensors of one chunk, each claiming as many chunks as the whole file could hold.
        var tensors = Enumerable.Range(0, 2000).Select(i => new TensorMetadata($"t{i:D6}", DType.Float32, [1L],
            [new StoredChunk(TensorBox.Whole([1L]), $"t{i:D6}", 0, new StoredBytes("d", 8L * i, 4, 8, [0UL]))])).ToDictionary(t => t.Key, StringComparer.Ordinal);
        var bytes = MetadataBinaryWriter.ToArray(new CheckpointMetadata(1, 1, 1, DateTimeOffset.UnixEpoch, tensors, [], [new DataFileMetadata("d", 16_000, 0, 0)]));
        var claimed = (uint)(bytes.Length / MetadataBinary.ChunkRecordLength(1));
        var at = 64 + 96 + 4;
        for (var t = 0; t < tensors.Count; t++)
        {
            at += 4 + (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at)); // key
            at += 1 + bytes[at];                                                     // dtype
            at += 4 + 8;                                                             // dims, shape
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at), claimed);
            at += 4 + 4 + 24;                                                        // chunk and page counts, page index
        }
        var hostile = MetadataResealer.Reseal(bytes);
        var before = GC.GetAllocatedBytesForCurrentThread(); // the directory is parsed on the caller's thread; tests beside it allocate too

        var e = Assert.Throws<CheckpointFormatException>(() => Read(hostile));

        Assert.StartsWith($"'{File}': binary metadata, directory: \"chunk_count\" {claimed} chunks of tensor 't000000', with the records before them, cannot fit", e.Message);
        // Refused while the directory is parsed: before, every tensor's claimed count was allocated (hundreds of times the file).
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - before, 0, 16L * hostile.Length);
    }

    [Fact]
    public void A_tensor_of_more_dimensions_than_the_form_holds_should_be_refused_by_the_writer_and_the_validator()
    {
        var shape = Enumerable.Repeat(1L, MetadataBinary.MaxDimensions + 1).ToArray();
        var chunk = new StoredChunk(TensorBox.Whole(shape), "deep", 0, new StoredBytes("d", 0, 4, 8, [0UL]));
        var metadata = new CheckpointMetadata(1, 1, 1, DateTimeOffset.UnixEpoch,
            new Dictionary<string, TensorMetadata> { ["deep"] = new("deep", DType.Float32, shape, [chunk]) }, [], [new DataFileMetadata("d", 8, 0, 0)]);

        var e = Assert.Throws<ArgumentException>(() => MetadataBinaryWriter.ToArray(metadata));

        Assert.StartsWith("'deep' has 65 dimensions: the binary form holds at most 64", e.Message);
        Assert.Equal(["'deep': \"shape\" has 65 dimensions, more than 64"], MetadataValidator.Validate(metadata));
    }

    [Fact]
    public void A_page_past_the_end_of_the_file_should_be_refused_naming_the_field()
    {
        var (bytes, pageIndex) = WithTensor();
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(pageIndex), bytes.Length);

        var e = Assert.Throws<CheckpointFormatException>(() => Read(MetadataResealer.Reseal(bytes)));

        var dataStart = 64 + BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(48)) + 8;
        Assert.Equal($"'{File}': binary metadata, tensor 'w' page index: \"page.offset\" {bytes.Length} + length {PageLength(bytes, pageIndex)} do not lie " +
                     $"between the directory's end ({dataStart}) and the file's ({bytes.Length})", e.Message);
    }

    [Fact]
    public void A_page_pointing_back_into_the_directory_should_be_refused_naming_the_field()
    {
        var (bytes, pageIndex) = WithTensor();
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(pageIndex), 64);

        var e = Assert.Throws<CheckpointFormatException>(() => Read(MetadataResealer.Reseal(bytes)));

        Assert.StartsWith($"'{File}': binary metadata, tensor 'w' page index: \"page.offset\" 64 + length", e.Message);
    }

    [Fact]
    public void A_page_that_is_its_own_page_index_should_be_refused_as_one_format_error()
    {
        // A cycle: the index lists itself as its page. Nothing is followed twice, so it ends in a refusal.
        var (bytes, pageIndex) = WithTensor();
        var indexAt = IndexRegionOf(bytes, "w");
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(pageIndex), BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(indexAt)));
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(pageIndex + 8), BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(indexAt + 8)));

        var e = Assert.Throws<CheckpointFormatException>(() => Read(MetadataResealer.Reseal(bytes)));

        Assert.StartsWith($"'{File}': binary metadata, tensor 'w' page 0: ", e.Message);
    }

    [Fact]
    public void A_changed_page_should_be_refused_by_the_checksum_its_page_index_records()
    {
        var (bytes, pageIndex) = WithTensor();
        var page = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(pageIndex));
        var recorded = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(pageIndex + 16));
        bytes[page + 4] ^= 1;
        var actual = System.IO.Hashing.XxHash3.HashToUInt64(bytes.AsSpan((int)page, (int)PageLength(bytes, pageIndex)));

        var e = Assert.Throws<CheckpointFormatException>(() => Read(bytes));

        Assert.Equal($"'{File}': binary metadata, tensor 'w' page 0: \"checksum\" {actual:x16} differs from the {recorded:x16} the page index records: the part was changed or corrupted", e.Message);
    }

    [Fact]
    public void A_changed_directory_should_be_refused_by_the_seal_and_by_the_catalogs_checksum()
    {
        var bytes = MetadataBinaryWriter.ToArray(RandomMetadata.Create(5, 3));
        var recorded = CheckpointStore.Checksum(bytes);
        bytes[64 + 100] ^= 1;
        var now = CheckpointStore.Checksum(bytes);

        var sealed_ = Assert.Throws<CheckpointFormatException>(() => Read(bytes));
        var catalog = Assert.Throws<CheckpointFormatException>(() => MetadataIndex.Open(bytes, File, recorded));

        Assert.StartsWith($"'{File}': binary metadata, seal: \"seal\" {recorded} differs from the {now} of the header and directory", sealed_.Message);
        Assert.Equal($"'{File}': its checksum {now} differs from the {recorded} the catalog recorded at commit: the document was changed or corrupted", catalog.Message);
    }

    [Fact]
    public void A_rank_should_read_only_the_pages_its_box_overlaps()
    {
        // 1,024 chunks of one row each: the rank wants one row, and reads a small part of the file.
        const int rows = 1024;
        var chunks = Enumerable.Range(0, rows).Select(r => new StoredChunk(new TensorBox([r, 0L], [1L, 4L]), $"w@{r},0", r,
            new StoredBytes("d.safetensors", 16L * r, 16, 16, [(ulong)r]))).ToArray();
        var metadata = new CheckpointMetadata(1, 1, rows, DateTimeOffset.UnixEpoch,
            new Dictionary<string, TensorMetadata> { ["w"] = new("w", DType.Float32, [rows, 4L], chunks) }, [], [new DataFileMetadata("d.safetensors", 16L * rows, 0, 0)]);
        var bytes = MetadataBinaryWriter.ToArray(metadata);
        var reader = new CountingReader(bytes);

        using (var index = MetadataIndex.Open(reader, File, CheckpointStore.Checksum(bytes)))
        {
            var part = index.ForRank(500, [new WantedChunk(0, "w", DType.Float32, [rows, 4L], new TensorBox([500L, 0L], [1L, 4L]))]);
            Assert.Equal([500], part.Tensors["w"].Chunks.Select(c => (int)c.Box.Offsets[0]));
        }

        // Header and directory, the page index (16 pages), one page of 64 chunks, the files and strings: under a tenth.
        Assert.InRange(reader.Bytes, 1, bytes.Length / 10);
    }

    [Fact]
    public void Metadata_the_form_cannot_hold_should_be_refused_before_anything_is_written()
    {
        var chunk = new StoredChunk(TensorBox.Whole([2L]), "w", 0, new StoredBytes("elsewhere", 0, 8, 8, [1UL]));
        var metadata = new CheckpointMetadata(1, 1, 1, DateTimeOffset.UnixEpoch,
            new Dictionary<string, TensorMetadata> { ["w"] = new("w", DType.Float32, [2L], [chunk]) }, [], [new DataFileMetadata("d", 8, 0, 0)]);

        var e = Assert.Throws<ArgumentException>(() => MetadataBinaryWriter.ToArray(metadata));

        Assert.Equal("'w' is in file 'elsewhere', which the metadata does not list", e.Message);
    }

    /// <summary>A document with one tensor "w" of several chunks; returns it and where its first page's entry lies in its page index.</summary>
    private static (byte[] Bytes, int PageEntry) WithTensor()
    {
        var chunks = Enumerable.Range(0, 3).Select(r => new StoredChunk(new TensorBox([r, 0L], [1L, 2L]), $"w@{r},0", r,
            new StoredBytes("d", 8L * r, 8, 8, [(ulong)r]))).ToArray();
        var metadata = new CheckpointMetadata(1, 1, 3, DateTimeOffset.UnixEpoch,
            new Dictionary<string, TensorMetadata> { ["w"] = new("w", DType.Float32, [3L, 2L], chunks) }, [], [new DataFileMetadata("d", 24, 0, 0)]);
        var bytes = MetadataBinaryWriter.ToArray(metadata);
        return (bytes, (int)BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(IndexRegionOf(bytes, "w"))));
    }

    /// <summary>Where, in the directory, the (offset, length, checksum) of tensor <paramref name="key"/>'s page index lie (one-tensor documents of 2 dimensions).</summary>
    private static int IndexRegionOf(byte[] bytes, string key) => 64 + 96 + 4 + 4 + key.Length + 1 + 3 + 4 + 16 + 8;

    private static long PageLength(byte[] bytes, int pageEntry) => BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(pageEntry + 8));

    private static string Describe(StoredChunk c) =>
        $"{c.Box} {c.StorageName} {c.Rank} {c.Bytes.File} {c.Bytes.Offset} {c.Bytes.Length} {c.Bytes.BlockSize} {string.Join(",", c.Bytes.BlockChecksums)}";

    private static string Describe(ObjectMetadata o) =>
        $"{o.Key} {o.Scope} {o.Rank} {o.StorageName} {o.Bytes.File} {o.Bytes.Offset} {o.Bytes.Length} {o.Bytes.BlockSize} {string.Join(",", o.Bytes.BlockChecksums)}";

    /// <summary>An <see cref="IBlobReader"/> over bytes that counts what is read (from any thread).</summary>
    private sealed class CountingReader(byte[] bytes) : IBlobReader
    {
        private long _bytes;
        private int _reads;

        public long Bytes => Interlocked.Read(ref _bytes);

        public int Reads => Volatile.Read(ref _reads);

        public bool Disposed { get; private set; }

        public long Length => bytes.Length;

        public void ReadExactly(Span<byte> buffer, long offset)
        {
            Interlocked.Add(ref _bytes, buffer.Length);
            Interlocked.Increment(ref _reads);
            bytes.AsSpan((int)offset, buffer.Length).CopyTo(buffer);
        }

        public void Dispose() => Disposed = true;
    }
}

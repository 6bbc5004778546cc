using FsCheck.Xunit;

namespace ActorCkpt.Io.Tests;

/// <summary>
/// The binary metadata writer encodes the tensor sections on several threads, a batch at a time: the
/// bytes must be those one thread writes (strings numbered by first use, chunks sorted when out of
/// order, pages and indexes checksummed), whatever the degree and the batch, and a failing tensor must
/// throw what the single pass throws.
/// </summary>
public class ParallelMetadataWriterSpec
{
    [Property(MaxTest = 300)]
    public void Writing_on_several_threads_should_give_the_bytes_one_thread_gives(int seed, byte size, byte batch)
    {
        var metadata = Varied(RandomMetadata.Create(seed, 1 + size % 8), seed);
        var single = MetadataBinaryWriter.ToArray(metadata, 1, MetadataBinaryWriter.BatchChunks);

        foreach (var degree in new[] { 2, 4 })
            foreach (var chunks in new[] { 1 + batch % 40, 1 + batch, MetadataBinaryWriter.BatchChunks })
                Assert.True(single.AsSpan().SequenceEqual(MetadataBinaryWriter.ToArray(metadata, degree, chunks)), $"degree {degree}, batch {chunks}: other bytes");
        Assert.True(single.AsSpan().SequenceEqual(MetadataBinaryWriter.ToArray(metadata)));
    }

    [Fact]
    public void A_save_shaped_document_should_be_written_alike_on_one_thread_and_on_several()
    {
        // bench-plan's shape, smaller: tensors sharded by rows over the ranks (chunks in order, canonical
        // names, one file per rank), every fourth replicated; batches of many tensors, and tensors bigger than one.
        const int ranks = 300;
        var files = Enumerable.Range(0, ranks).Select(r => new DataFileMetadata($"rank{r}.safetensors", 1L << 30, r, 0, "node" + r % 3)).ToArray();
        var tensors = new Dictionary<string, TensorMetadata>(StringComparer.Ordinal);
        for (var i = 0; i < 24; i++)
        {
            var key = $"layer{i}.weight";
            long[] shape = i % 4 == 0 ? [1024L] : [ranks * 2L, 16L];
            var chunks = i % 4 == 0
                ? [new StoredChunk(TensorBox.Whole(shape), key, 0, new StoredBytes(files[0].Name, (1L << 20) + i * 4096L, 4096, 4096, [(ulong)i]))]
                : Enumerable.Range(0, ranks).Select(r => new TensorBox([2L * r, 0L], [2L, 16L]))
                    .Select((box, r) => new StoredChunk(box, StorageNames.Chunk(key, box, shape), r, new StoredBytes(files[r].Name, i * 128L, 128, 128, [(ulong)(r * 31 + i)]))).ToArray();
            tensors.Add(key, new TensorMetadata(key, DType.Float32, shape, chunks));
        }
        var metadata = new CheckpointMetadata(1, 42, ranks, DateTimeOffset.UnixEpoch, tensors, [], files);

        var single = MetadataBinaryWriter.ToArray(metadata, 1, MetadataBinaryWriter.BatchChunks);
        foreach (var batch in new[] { 200, 1000, 5000, MetadataBinaryWriter.BatchChunks })
            Assert.True(single.AsSpan().SequenceEqual(MetadataBinaryWriter.ToArray(metadata, 2, batch)), $"batch {batch}: other bytes");
        Assert.Equal(metadata.Tensors.Count, CheckpointStore.Deserialize(single, CheckpointLayout.MetadataFile).Tensors.Count);
    }

    [Fact]
    public void A_failing_tensor_should_throw_what_one_thread_throws_the_first_in_key_order()
    {
        var files = new[] { new DataFileMetadata("d", 1 << 20, 0, 0) };
        StoredChunk Chunk(TensorBox box, string file) => new(box, "n" + box.Offsets[0], 0, new StoredBytes(file, 0, 8, 8, [1UL]));
        TensorMetadata Rows(string key, string file = "d") =>
            new(key, DType.Float32, [100L, 2L], Enumerable.Range(0, 100).Select(i => Chunk(new TensorBox([(long)i, 0L], [1L, 2L]), file)).ToArray());
        var wrongRank = new TensorMetadata("c", DType.Float32, [100L, 2L], [Chunk(new TensorBox([0L, 0L], [1L, 2L]), "d"), Chunk(new TensorBox([1L], [99L]), "d")]);
        var metadata = new CheckpointMetadata(1, 1, 1, DateTimeOffset.UnixEpoch, new Dictionary<string, TensorMetadata>
        {
            ["a"] = Rows("a"), ["b"] = Rows("b", "zz"), ["c"] = wrongRank, ["e"] = Rows("e", "yy"),
        }, [], files);

        foreach (var (degree, batch) in new[] { (1, MetadataBinaryWriter.BatchChunks), (2, 1000), (2, 150), (4, 1) })
        {
            var e = Assert.Throws<ArgumentException>(() => MetadataBinaryWriter.ToArray(metadata, degree, batch));
            Assert.Equal("'b' is in file 'zz', which the metadata does not list", e.Message);
        }

        var withoutB = metadata with { Tensors = metadata.Tensors.Where(t => t.Key != "b").ToDictionary(t => t.Key, t => t.Value, StringComparer.Ordinal) };
        foreach (var (degree, batch) in new[] { (1, MetadataBinaryWriter.BatchChunks), (2, 1000), (4, 1) })
        {
            var e = Assert.Throws<ArgumentException>(() => MetadataBinaryWriter.ToArray(withoutB, degree, batch));
            Assert.Equal("a chunk of 'c' has 1 dimensions, its tensor 2 (Parameter 't')", e.Message);
        }

        var version = Assert.Throws<ArgumentException>(() => MetadataBinaryWriter.ToArray(metadata with { FormatVersion = 9 }, 2, 1));
        Assert.Equal($"format_version 9 cannot be written (this build writes {CheckpointMetadata.CurrentFormatVersion}) (Parameter 'metadata')", version.Message);
    }

    /// <summary>
    /// <paramref name="metadata"/> with what the generator seldom draws: tensors whose chunks come in order
    /// (no sorted rewrite), names shared across tensors, entries and files, and a tensor of several pages.
    /// </summary>
    private static CheckpointMetadata Varied(CheckpointMetadata metadata, int seed)
    {
        var rng = new Random(seed ^ 0x5eed);
        var shared = new[] { "x", "y", metadata.Files[0].Name, metadata.Files[0].Node }
            .Concat(metadata.Objects.Select(o => o.Key)).ToArray();
        string Name(StoredChunk c) => rng.Next(3) == 0 ? shared[rng.Next(shared.Length)] : c.StorageName;
        var tensors = metadata.Tensors.Values.Select(t =>
        {
            var chunks = rng.Next(2) == 0 ? t.Chunks.OrderBy(c => c.Box.Offsets, Comparer<IReadOnlyList<long>>.Create(Lexical)).ToList() : t.Chunks.ToList();
            return t with { Chunks = chunks.Select(c => c with { StorageName = Name(c) }).ToArray() };
        }).ToList();
        if (rng.Next(2) == 0)
        {
            var rows = rng.Next(65, 400);
            var file = metadata.Files[rng.Next(metadata.Files.Count)];
            var chunks = Enumerable.Range(0, rows).Select(i => new StoredChunk(new TensorBox([(long)i, 0L], [1L, 3L]),
                rng.Next(5) == 0 ? "big" + rng.Next(10) : StorageNames.Chunk("big", new TensorBox([(long)i, 0L], [1L, 3L]), [rows, 3L]), i % 7,
                new StoredBytes(file.Name, 0, 12, 8, [(ulong)i, (ulong)rng.NextInt64()]))).ToList();
            if (rng.Next(2) == 0) (chunks[0], chunks[^1]) = (chunks[^1], chunks[0]);
            tensors.Add(new TensorMetadata("big", DType.Float32, [rows, 3L], chunks));
        }
        return metadata with { Tensors = tensors.ToDictionary(t => t.Key, StringComparer.Ordinal) };
    }

    private static int Lexical(IReadOnlyList<long> a, IReadOnlyList<long> b)
    {
        for (var i = 0; i < Math.Min(a.Count, b.Count); i++)
            if (a[i] != b[i]) return a[i].CompareTo(b[i]);
        return a.Count.CompareTo(b.Count);
    }
}

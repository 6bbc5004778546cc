namespace ActorCkpt.Io.Tests;

/// <summary>
/// A whole read of the binary form packs each tensor's chunks (<see cref="PackedChunks"/>) and the
/// validator checks them packed: it must name exactly the problems, in the same order, that it names
/// for the same chunks built as objects; and a packed chunk is built once, whoever asks.
/// </summary>
public class PackedChunksSpec
{
    private const string File = "step-00000001/metadata.json";

    [Fact]
    public void Packed_chunks_should_be_validated_with_exactly_the_problems_of_built_ones()
    {
        var inconsistent = 0;
        for (var seed = 0; seed < 400; seed++)
        {
            var metadata = Damage(RandomMetadata.Create(seed, 6), new Random(seed));
            using var index = MetadataIndex.Open(MetadataBinaryWriter.ToArray(metadata), File, null);
            var packed = index.ReadAll();
            Assert.All(packed.Tensors.Values, t => Assert.IsType<PackedChunks>(t.Chunks));
            var built = packed with { Tensors = packed.Tensors.Values.ToDictionary(t => t.Key, t => t with { Chunks = t.Chunks.ToArray() }, StringComparer.Ordinal) };

            foreach (var partial in new[] { false, true })
            {
                var expected = MetadataValidator.Validate(built, partial);
                Assert.Equal(expected, MetadataValidator.Validate(packed, partial));
                if (!partial && expected.Count > 0) inconsistent++;
            }
        }
        // Most damage is caught: the comparison is about problems, not only about clean metadata.
        Assert.True(inconsistent > 200, $"only {inconsistent} of 400 damaged documents had problems");
    }

    [Fact]
    public void A_packed_chunk_should_be_built_once_for_every_caller()
    {
        var metadata = RandomMetadata.Create(7, 8);
        using var index = MetadataIndex.Open(MetadataBinaryWriter.ToArray(metadata), File, null);
        var read = index.ReadAll();
        foreach (var t in read.Tensors.Values)
        {
            var seen = new StoredChunk[4][];
            Parallel.For(0, seen.Length, i => seen[i] = t.Chunks.ToArray());
            for (var i = 1; i < seen.Length; i++)
                Assert.True(seen[0].Zip(seen[i]).All(p => ReferenceEquals(p.First, p.Second)), $"'{t.Key}': a chunk was built twice");
            Assert.Equal(metadata.Tensors[t.Key].Chunks.Select(c => c.Box), t.Chunks.Select(c => c.Box));
        }
    }

    [Fact]
    public void Many_chunks_checked_on_the_pool_should_be_named_in_tensor_order_built_or_packed()
    {
        // 40 tensors x 500 row chunks: enough chunks that the validator checks tensors on the pool.
        const int tensorCount = 40, rows = 500, bytes = 16;
        var tensors = new Dictionary<string, TensorMetadata>(StringComparer.Ordinal);
        for (var t = 0; t < tensorCount; t++)
        {
            var key = $"t{t:00}";
            var chunks = new List<StoredChunk>();
            for (var i = 0; i < rows; i++)
            {
                var box = new TensorBox(new long[] { i, 0 }, new long[] { 1, 4 });
                var offset = (long)(t * rows + i) * bytes;
                if (t == 5 && i == 10) box = new TensorBox(new long[] { 11, 0 }, new long[] { 1, 4 });
                if (t == 38 && i == 3) offset -= bytes;
                chunks.Add(new StoredChunk(box, StorageNames.Chunk(key, box, [rows, 4]), 0,
                    new StoredBytes(t == 33 && i == 7 ? "zz" : "a", offset, bytes, bytes, [(ulong)i])));
            }
            if (t == 20) chunks.RemoveAt(0);
            tensors.Add(key, new TensorMetadata(key, DType.Float32, [rows, 4], chunks));
        }
        var metadata = new CheckpointMetadata(CheckpointMetadata.CurrentFormatVersion, 1, 1, DateTimeOffset.UnixEpoch, tensors, [],
            [new DataFileMetadata("a", tensorCount * rows * bytes, 0, 0), new DataFileMetadata("zz-not-this", 0, 0, 0)]);
        string[] expected =
        [
            "'t05': chunks offsets [11, 0] lengths [1, 4] and offsets [11, 0] lengths [1, 4] overlap",
            "'t20': chunks cover 1996 of 2000 elements",
            "'t33' is in file 'zz', which the metadata does not list",
            "'t38' and 't38' overlap in file 'a'",
        ];

        Assert.Equal(expected, MetadataValidator.Validate(metadata));
        var unlisted = metadata with { Files = [.. metadata.Files, new DataFileMetadata("zz", 1 << 20, 0, 0)] };
        using var index = MetadataIndex.Open(MetadataBinaryWriter.ToArray(unlisted), File, null);
        var packed = index.ReadAll();
        Assert.Equal(expected.Where(p => !p.Contains("'zz'")), MetadataValidator.Validate(packed));
    }

    [Theory]
    [InlineData(16, 0L, new string[0])]
    [InlineData(8, 0L, new[] { "'b' and 'c' overlap in file 'f'" })]
    [InlineData(16, 40L, new[] { "'a' and 'e' overlap in file 'f'" })]
    [InlineData(8, 40L, new[] { "'b' and 'c' overlap in file 'f'", "'a' and 'e' overlap in file 'f'" })]
    public void Ranges_placed_out_of_order_in_a_file_should_be_checked_in_the_files_order(long cOffset, long entryOffset, string[] expected)
    {
        // Tensors come in key order (a, b, c) but lie in the file as b, c, a: out of order is no
        // problem; an overlap is, wherever its two ranges come in the order placed.
        TensorMetadata Tensor(string key, long offset) =>
            new(key, DType.Float32, [4L], [new StoredChunk(TensorBox.Whole([4L]), key, 0, new StoredBytes("f", offset, 16, 16, [1UL]))]);
        var tensors = new Dictionary<string, TensorMetadata>(StringComparer.Ordinal) { ["a"] = Tensor("a", 32), ["b"] = Tensor("b", 0), ["c"] = Tensor("c", cOffset) };
        ObjectMetadata[] entries = entryOffset > 0 ? [new ObjectMetadata("e", ObjectScope.Global, 0, "e", new StoredBytes("f", entryOffset, 16, 16, [1UL]))] : [];
        var metadata = new CheckpointMetadata(CheckpointMetadata.CurrentFormatVersion, 1, 1, DateTimeOffset.UnixEpoch, tensors, entries, [new DataFileMetadata("f", 64, 0, 0)]);
        using var index = MetadataIndex.Open(MetadataBinaryWriter.ToArray(metadata), File, null);

        Assert.Equal(expected, MetadataValidator.Validate(metadata));
        Assert.Equal(expected, MetadataValidator.Validate(index.ReadAll()));
    }

    /// <summary>One change a writer does not refuse but the validator may: a box moved or resized, bytes moved, resized or re-blocked, a chunk listed twice or dropped.</summary>
    private static CheckpointMetadata Damage(CheckpointMetadata metadata, Random rng)
    {
        var tensors = metadata.Tensors.Values.Where(t => t.Chunks.Count > 0).ToArray();
        if (tensors.Length == 0) return metadata;
        var t = tensors[rng.Next(tensors.Length)];
        var chunks = t.Chunks.ToList();
        var at = rng.Next(chunks.Count);
        var c = chunks[at];
        var grown = c.Box.Lengths.ToArray();
        var moved = c.Box.Offsets.ToArray();
        if (grown.Length > 0) grown[rng.Next(grown.Length)] += 1;
        if (moved.Length > 0) moved[rng.Next(moved.Length)] += rng.Next(1, 3);
        switch (rng.Next(7))
        {
            case 0: chunks[at] = c with { Box = new TensorBox(c.Box.Offsets, grown) }; break;
            case 1: chunks[at] = c with { Box = new TensorBox(moved, c.Box.Lengths) }; break;
            case 2: chunks[at] = c with { Bytes = c.Bytes with { Offset = c.Bytes.Offset + 8 * rng.Next(1, 4) } }; break;
            case 3: chunks[at] = c with { Bytes = c.Bytes with { Length = c.Bytes.Length + rng.Next(1, 9) } }; break;
            case 4: chunks[at] = c with { Bytes = c.Bytes with { BlockSize = rng.Next(-8, 12) } }; break;
            case 5: chunks.Add(c); break;
            default: chunks.RemoveAt(at); break;
        }
        var damaged = new Dictionary<string, TensorMetadata>(metadata.Tensors, StringComparer.Ordinal) { [t.Key] = t with { Chunks = chunks } };
        return metadata with { Tensors = damaged };
    }
}

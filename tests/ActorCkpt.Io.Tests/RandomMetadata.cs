namespace ActorCkpt.Io.Tests;

/// <summary>
/// Valid checkpoint metadata drawn from a seed (it passes <see cref="MetadataValidator"/>): tensors of
/// every dtype and 0 to 3 dimensions cut into disjoint chunks that cover them, listed in a shuffled
/// order; entries of both scopes; data files whose byte ranges do not overlap; names made of
/// multi-byte text, '@' and digits, some by the storage-name rules and some not; checksums, nodes,
/// header checksums (some empty) and creation times anywhere in their range.
/// </summary>
internal static class RandomMetadata
{
    private static readonly string[] Units = ["a", "b", "z", "0", "7", ".", "_", "-", "@", ",", " ", "é", "ß", "中", "😀", "\"", "\\u"];
    private static readonly DType[] DTypesAll = Enum.GetValues<DType>();

    /// <summary>Metadata of about <paramref name="size"/> tensors and entries, from <paramref name="seed"/>.</summary>
    public static CheckpointMetadata Create(int seed, int size)
    {
        var rng = new Random(seed);
        var fileCount = rng.Next(1, 4);
        var fileNames = Enumerable.Range(0, fileCount).Select(i => $"r{i}-{Text(rng, 6).Replace("\\", "")}.safetensors").ToArray();
        var used = new long[fileCount];

        StoredBytes Place(long length)
        {
            var f = rng.Next(fileCount);
            var offset = used[f] + rng.Next(0, 3) * 8;
            used[f] = offset + length;
            var block = 8 * rng.Next(1, 5);
            var sums = new ulong[(length + block - 1) / block];
            for (var i = 0; i < sums.Length; i++) sums[i] = (ulong)rng.NextInt64() ^ ((ulong)rng.Next() << 63);
            return new StoredBytes(fileNames[f], offset, length, block, sums);
        }

        var tensors = new Dictionary<string, TensorMetadata>(StringComparer.Ordinal);
        for (var i = rng.Next(0, size + 1); i > 0; i--)
        {
            var key = $"t{tensors.Count}{Text(rng, 5)}";
            var dtype = DTypesAll[rng.Next(DTypesAll.Length)];
            var shape = Enumerable.Range(0, rng.Next(0, 4)).Select(_ => (long)rng.Next(0, 7)).ToArray();
            var boxes = Cut(rng, shape);
            var chunks = boxes.OrderBy(_ => rng.Next()).Select(box => new StoredChunk(box,
                rng.Next(4) == 0 ? Text(rng, 8) : StorageNames.Chunk(key, box, shape), rng.Next(0, 9),
                Place(box.Volume * DTypes.ElementSize(dtype)))).ToArray();
            tensors.Add(key, new TensorMetadata(key, dtype, shape, chunks));
        }

        var objects = new List<ObjectMetadata>();
        for (var i = rng.Next(0, size + 1); i > 0; i--)
        {
            var key = $"o{objects.Count}{Text(rng, 4)}";
            var scope = rng.Next(2) == 0 ? ObjectScope.Global : ObjectScope.Rank;
            var rank = rng.Next(0, 5);
            objects.Add(new ObjectMetadata(key, scope, rank, rng.Next(4) == 0 ? Text(rng, 8) : StorageNames.Entry(key, scope, rank), Place(rng.Next(0, 40))));
        }

        var files = fileNames.Select((name, f) => new DataFileMetadata(name, used[f] + rng.Next(0, 16), rng.Next(0, 9), rng.Next(0, 3), Text(rng, 10),
            rng.Next(3) == 0 ? "" : rng.NextInt64().ToString("x16"))).ToArray();
        return new CheckpointMetadata(CheckpointMetadata.CurrentFormatVersion, rng.NextInt64(0, long.MaxValue), rng.Next(1, 5000),
            new DateTimeOffset(rng.NextInt64(0, DateTime.MaxValue.Ticks), TimeSpan.Zero), tensors, objects, files);
    }

    /// <summary>Disjoint boxes covering <paramref name="shape"/>: dimension 0 cut in runs, each run's dimension 1 cut again (sometimes).</summary>
    public static List<TensorBox> Cut(Random rng, long[] shape)
    {
        if (shape.Length == 0 || shape[0] == 0) return [TensorBox.Whole(shape)];
        var boxes = new List<TensorBox>();
        foreach (var (start, length) in Runs(rng, shape[0]))
        {
            var rows = (long[])shape.Clone();
            rows[0] = length;
            var offsets = new long[shape.Length];
            offsets[0] = start;
            if (shape.Length < 2 || shape[1] == 0 || rng.Next(2) == 0)
            {
                boxes.Add(new TensorBox(offsets, rows));
                continue;
            }
            foreach (var (colStart, colLength) in Runs(rng, shape[1]))
            {
                var o = (long[])offsets.Clone();
                var l = (long[])rows.Clone();
                o[1] = colStart;
                l[1] = colLength;
                boxes.Add(new TensorBox(o, l));
            }
        }
        return boxes;
    }

    /// <summary>A random box inside <paramref name="shape"/> (possibly empty).</summary>
    public static TensorBox BoxIn(Random rng, long[] shape)
    {
        var offsets = new long[shape.Length];
        var lengths = new long[shape.Length];
        for (var d = 0; d < shape.Length; d++)
        {
            offsets[d] = rng.NextInt64(0, shape[d] + 1);
            lengths[d] = rng.NextInt64(0, shape[d] - offsets[d] + 1);
        }
        return new TensorBox(offsets, lengths);
    }

    private static IEnumerable<(long Start, long Length)> Runs(Random rng, long size)
    {
        for (long start = 0; start < size;)
        {
            var length = rng.NextInt64(1, size - start + 1);
            yield return (start, length);
            start += length;
        }
    }

    private static string Text(Random rng, int max) => string.Concat(Enumerable.Range(0, rng.Next(1, max + 1)).Select(_ => Units[rng.Next(Units.Length)]));
}

using TorchSharp;

namespace ActorCkpt.Actors.Tests;

/// <summary>How a test tensor is laid out over ranks.</summary>
internal enum Layout
{
    Replicated,
    Rows,
    Columns,
    /// <summary>Rows split unevenly; the last rank holds an empty shard.</summary>
    UnevenWithEmpty,
}

/// <summary>Deterministic test tensors, laid out over any number of ranks.</summary>
internal static class TestStates
{
    public static readonly DType[] AllDTypes = { DType.Float32, DType.BFloat16, DType.Float16, DType.Int64, DType.Int32, DType.UInt8, DType.Float64, DType.Int16, DType.Int8, DType.Bool };

    /// <summary>The full values of a [rows, cols] tensor, a function of (key, seed).</summary>
    public static torch.Tensor Global(string key, DType dtype, long rows, long cols, int seed)
    {
        var generator = new torch.Generator((ulong)(key.GetHashCode(StringComparison.Ordinal) & 0x7FFFFFFF) * 31 + (ulong)seed);
        var type = TorchDTypes.ToScalarType(dtype);
        using var scope = torch.NewDisposeScope();
        var t = dtype switch
        {
            DType.Bool => torch.randint(0, 2, new[] { rows, cols }, torch.ScalarType.Int64, generator: generator).to(type),
            DType.UInt8 => torch.randint(0, 256, new[] { rows, cols }, torch.ScalarType.Int64, generator: generator).to(type),
            DType.Int8 => torch.randint(-128, 128, new[] { rows, cols }, torch.ScalarType.Int64, generator: generator).to(type),
            DType.Int16 or DType.Int32 or DType.Int64 => torch.randint(-30000, 30000, new[] { rows, cols }, torch.ScalarType.Int64, generator: generator).to(type),
            _ => torch.randn(new[] { rows, cols }, torch.ScalarType.Float32, generator: generator).to(type),
        };
        return t.MoveToOuterDisposeScope();
    }

    /// <summary>The box of rank <paramref name="rank"/> of <paramref name="world"/> for a [rows, cols] tensor.</summary>
    public static TensorBox BoxOf(Layout layout, long rows, long cols, int rank, int world)
    {
        (long, long) Even(long size) => (rank * (size / world) + Math.Min(rank, size % world), size / world + (rank < size % world ? 1 : 0));
        switch (layout)
        {
            case Layout.Replicated:
                return TensorBox.Whole(new[] { rows, cols });
            case Layout.Rows:
            {
                var (s, l) = Even(rows);
                return new TensorBox(new[] { s, 0L }, new[] { l, cols });
            }
            case Layout.Columns:
            {
                var (s, l) = Even(cols);
                return new TensorBox(new[] { 0L, s }, new[] { rows, l });
            }
            default:
            {
                if (world == 1) return TensorBox.Whole(new[] { rows, cols });
                // Ranks 0..world-2 split the rows 1:2:3…; the last rank gets nothing.
                var weights = Enumerable.Range(1, world - 1).ToArray();
                var total = weights.Sum();
                long start = 0;
                for (var r = 0; r < Math.Min(rank, world - 1); r++) start += rows * weights[r] / total;
                var length = rank == world - 1 ? 0 : rank == world - 2 ? rows - start : rows * weights[rank] / total;
                return new TensorBox(new[] { Math.Min(start, rows), 0L }, new[] { length, cols });
            }
        }
    }

    /// <summary>A copy of the part of <paramref name="global"/> in <paramref name="box"/>.</summary>
    public static torch.Tensor Slice(torch.Tensor global, TensorBox box)
    {
        using var scope = torch.NewDisposeScope();
        var view = global;
        for (var d = 0; d < box.Rank; d++) view = view.narrow(d, box.Offsets[d], box.Lengths[d]);
        return view.contiguous().clone().MoveToOuterDisposeScope();
    }

    /// <summary>A model: one tensor per (dtype, layout) pair, named "t.{dtype}.{layout}".</summary>
    public static IReadOnlyList<(string Key, DType DType, Layout Layout, long Rows, long Cols)> Model(IEnumerable<DType> dtypes, IEnumerable<Layout> layouts) =>
        dtypes.SelectMany(d => layouts.Select(l => ($"t.{d}.{l}".ToLowerInvariant(), d, l, 13L, 6L))).ToArray();

    /// <summary>The states of every rank, holding copies of their boxes of the model's tensors.</summary>
    public static RankState[] Build(IReadOnlyList<(string Key, DType DType, Layout Layout, long Rows, long Cols)> model, int world, int seed)
    {
        var states = Enumerable.Range(0, world).Select(r => new RankState(r, world)).ToArray();
        foreach (var (key, dtype, layout, rows, cols) in model)
        {
            using var global = Global(key, dtype, rows, cols, seed);
            foreach (var s in states)
            {
                var box = BoxOf(layout, rows, cols, s.Rank, world);
                s.AddTensor(key, Slice(global, box), new[] { rows, cols }, box.Offsets);
            }
        }
        return states;
    }

    /// <summary>Zero-filled destinations for every rank.</summary>
    public static RankState[] Empty(IReadOnlyList<(string Key, DType DType, Layout Layout, long Rows, long Cols)> model, int world)
    {
        var states = Enumerable.Range(0, world).Select(r => new RankState(r, world)).ToArray();
        foreach (var (key, dtype, layout, rows, cols) in model)
            foreach (var s in states)
            {
                var box = BoxOf(layout, rows, cols, s.Rank, world);
                s.AddTensor(key, torch.zeros(box.Lengths.ToArray(), TorchDTypes.ToScalarType(dtype)), new[] { rows, cols }, box.Offsets);
            }
        return states;
    }

    /// <summary>Keys whose loaded bytes differ from the model's values at <paramref name="seed"/>.</summary>
    public static List<string> Differences(IReadOnlyList<(string Key, DType DType, Layout Layout, long Rows, long Cols)> model, IEnumerable<RankState> loaded, int seed)
    {
        var bad = new List<string>();
        foreach (var (key, dtype, _, rows, cols) in model)
        {
            using var global = Global(key, dtype, rows, cols, seed);
            foreach (var s in loaded)
            {
                var entry = s.Tensors.Single(t => t.Key == key);
                using var expected = Slice(global, entry.Box);
                if (!expected.bytes.SequenceEqual(entry.Tensor.bytes)) bad.Add($"rank {s.Rank}: {key}");
            }
        }
        return bad;
    }

    public static void Dispose(IEnumerable<RankState> states)
    {
        foreach (var t in states.SelectMany(s => s.Tensors)) t.Tensor.Dispose();
    }
}

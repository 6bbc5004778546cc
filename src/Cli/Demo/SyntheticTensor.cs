
namespace ActorCkpt.Cli.Demo;

/// <summary>One tensor of the synthetic model.</summary>
/// <param name="Key">State key.</param>
/// <param name="DType">Element type.</param>
/// <param name="Shape">Global shape (2-D).</param>
/// <param name="Sharding">Layout over the ranks.</param>
internal sealed record SyntheticTensor(string Key, DType DType, long[] Shape, Sharding Sharding)
{
    /// <summary>This tensor's box on <paramref name="rank"/> of <paramref name="world"/> ranks.</summary>
    public TensorBox BoxOf(int rank, int world)
    {
        var offsets = new long[Shape.Length];
        var lengths = Shape.ToArray();
        var dim = Sharding == Sharding.Columns ? 1 : 0;
        if (Sharding == Sharding.Replicated) return new TensorBox(offsets, lengths);
        var (start, length) = Sharding == Sharding.UnevenRows ? Uneven(Shape[dim], rank, world) : Even(Shape[dim], rank, world);
        offsets[dim] = start;
        lengths[dim] = length;
        return new TensorBox(offsets, lengths);
    }

    private static (long Start, long Length) Even(long size, int rank, int world)
    {
        long q = size / world, r = size % world;
        return (rank * q + Math.Min(rank, r), q + (rank < r ? 1 : 0));
    }

    private static (long Start, long Length) Uneven(long size, int rank, int world)
    {
        if (world == 1) return (0, size);
        // Weights 1, 2, …, world-1 and 0 for the last rank; rounding goes to the last weighted rank.
        long total = (long)(world - 1) * world / 2;
        long start = 0;
        for (var r = 0; r < rank; r++) start += size * (r + 1) / total;
        var length = rank == world - 1 ? 0 : rank == world - 2 ? size - start : size * (rank + 1) / total;
        return (Math.Min(start, size), length);
    }
}


namespace ActorCkpt.Planner.Tests;

/// <summary>Shorthands for building plans in tests.</summary>
internal static class PlanBuilders
{
    public static WriteItem Tensor(string key, int rank, int index, long[] shape, long[] offsets, long[] lengths, DType dtype = DType.Float32) =>
        WriteItem.ForTensor(key, rank, index, dtype, shape, new TensorBox(offsets, lengths));

    public static WriteItem Whole(string key, int rank, int index, params long[] shape) =>
        WriteItem.ForTensor(key, rank, index, DType.Float32, shape, TensorBox.Whole(shape));

    /// <summary>Rank <paramref name="rank"/>'s rows of a row-sharded [rows, cols] tensor split evenly over <paramref name="world"/>.</summary>
    public static WriteItem Rows(string key, int rank, int index, int world, long rows, long cols)
    {
        long q = rows / world, r = rows % world;
        var start = rank * q + Math.Min(rank, r);
        var length = q + (rank < r ? 1 : 0);
        return Tensor(key, rank, index, new[] { rows, cols }, new[] { start, 0L }, new[] { length, cols });
    }

    public static LocalSavePlan Plan(int rank, int world, params WriteItem[] items) => new(rank, world, items);

    /// <summary><paramref name="count"/> writers, all on one node.</summary>
    public static string[] Writers(int count) => Enumerable.Repeat("node", count).ToArray();

    /// <summary>No rank's node known: every writer is eligible.</summary>
    public static IReadOnlyDictionary<int, string> NoNodes { get; } = new Dictionary<int, string>();

    public static IEnumerable<WriteItem> AllItems(this IEnumerable<LocalSavePlan> plans) => plans.SelectMany(p => p.Items);
}

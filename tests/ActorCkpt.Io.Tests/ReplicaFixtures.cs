namespace ActorCkpt.Io.Tests;

/// <summary>Plans, bytes and replicas for the replica store's specs.</summary>
internal static class ReplicaFixtures
{
    /// <summary>Small enough blocks that every item spans several.</summary>
    public const int MaxBlock = 64 << 10;

    public static readonly IReadOnlyDictionary<string, string> Meta = new Dictionary<string, string> { ["format"] = "pt" };

    /// <summary>A tensor of 5 blocks, a small tensor of one block and an object entry.</summary>
    public static FileWritePlan Plan(string name, int rank = 0) => new(name, rank, 0, new[]
    {
        WriteItem.ForTensor("a", rank, 0, DType.Float32, new long[] { 70_000 }, TensorBox.Whole(new long[] { 70_000 })),
        WriteItem.ForTensor("b", rank, 1, DType.UInt8, new long[] { 777 }, TensorBox.Whole(new long[] { 777 })),
        WriteItem.ForObject("c", rank, 2, ObjectScope.Rank, 100_000),
    });

    public static byte[][] Data(FileWritePlan plan, int seed)
    {
        var random = new Random(seed);
        return plan.Items.Select(i => { var b = new byte[i.ByteLength]; random.NextBytes(b); return b; }).ToArray();
    }

    /// <summary>Writes and publishes the replica of <paramref name="plan"/>, items in pieces of odd sizes.</summary>
    public static FileWriteResult Write(ReplicaStore store, long step, Guid saveId, FileWritePlan plan, byte[][] data)
    {
        using var writer = store.Create(step, saveId, plan, MaxBlock, Meta);
        for (var i = 0; i < data.Length; i++)
            for (var at = 0; at < data[i].Length; at += 30_001)
                writer.Append(i, at, data[i].AsSpan(at, Math.Min(30_001, data[i].Length - at)));
        return writer.Complete();
    }

    /// <summary>The bytes of a reader, whole.</summary>
    public static byte[] ReadAll(IBlobReader reader)
    {
        var bytes = new byte[reader.Length];
        reader.ReadExactly(bytes, 0);
        return bytes;
    }
}

using TorchSharp;

namespace ActorCkpt.TestKit.Tests;

/// <summary>What the specs save: a few tensors with values from a seed, sharded by rows over the ranks, and empty ones to load into.</summary>
internal static class States
{
    private static readonly (string Key, long Rows, long Cols)[] Tensors = [("model.a", 64, 32), ("model.b", 32, 16), ("optim.a", 64, 32)];

    public static RankState Build(int rank, int world, int seed)
    {
        var state = new RankState(rank, world);
        foreach (var (key, rows, cols) in Tensors)
        {
            var whole = Whole(key, rows, cols, seed);
            var share = rows / world;
            state.AddSharded(key, whole.narrow(0, rank * share, share).contiguous(), 0, rank * share, rows);
        }
        return state;
    }

    public static RankState Empty(int rank, int world)
    {
        var state = new RankState(rank, world);
        foreach (var (key, rows, cols) in Tensors)
        {
            var share = rows / world;
            state.AddSharded(key, torch.zeros(share, cols), 0, rank * share, rows);
        }
        return state;
    }

    /// <summary>Keys whose loaded rows differ from what <see cref="Build"/> saved with <paramref name="seed"/>.</summary>
    public static IReadOnlyList<string> Differences(RankState loaded, int seed)
    {
        var wrong = new List<string>();
        foreach (var entry in loaded.Tensors)
        {
            var (_, rows, cols) = Tensors.Single(t => t.Key == entry.Key);
            using var expected = Whole(entry.Key, rows, cols, seed).narrow(0, entry.Box.Offsets[0], entry.Box.Lengths[0]).contiguous();
            if (!expected.bytes.SequenceEqual(entry.Tensor.contiguous().bytes)) wrong.Add(entry.Key);
        }
        return wrong;
    }

    private static torch.Tensor Whole(string key, long rows, long cols, int seed)
    {
        var gen = new torch.Generator((ulong)(seed * 1000 + key.Sum(c => c)));
        return torch.randn(rows, cols, generator: gen);
    }
}

using TorchSharp;

namespace ActorCkpt;

/// <summary>
/// How one parameter is split across ranks: this rank holds the slice that starts at
/// <paramref name="Offset"/> along <paramref name="Dim"/> of a tensor whose size along that
/// dimension is <paramref name="GlobalSize"/> (the other dimensions are whole).
/// A parameter without a spec is replicated: every rank holds all of it.
/// </summary>
/// <param name="Dim">The dimension split.</param>
/// <param name="Offset">Where this rank's slice starts along <paramref name="Dim"/>.</param>
/// <param name="GlobalSize">The size of the whole tensor along <paramref name="Dim"/>.</param>
public sealed record ShardSpec(int Dim, long Offset, long GlobalSize)
{
    /// <summary>
    /// Rank <paramref name="rank"/>'s part of <paramref name="globalSize"/> split in nearly equal
    /// parts over <paramref name="worldSize"/> ranks, the first ranks taking one more when it does
    /// not divide (as <c>torch.tensor_split</c>); returns the spec and the slice's length.
    /// </summary>
    public static (ShardSpec Spec, long Length) Even(int dim, long globalSize, int rank, int worldSize)
    {
        Ranks.Check(rank, worldSize, nameof(rank));
        long q = globalSize / worldSize, r = globalSize % worldSize;
        return (new ShardSpec(dim, rank * q + Math.Min(rank, r), globalSize), q + (rank < r ? 1 : 0));
    }

    /// <summary>Adds <paramref name="local"/> under <paramref name="key"/>: sharded as <paramref name="spec"/> says, replicated when it is null.</summary>
    internal static void Add(RankState state, string key, torch.Tensor local, ShardSpec? spec)
    {
        if (spec is null) state.AddReplicated(key, local);
        else state.AddSharded(key, local, spec.Dim, spec.Offset, spec.GlobalSize);
    }
}

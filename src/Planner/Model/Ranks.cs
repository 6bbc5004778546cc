namespace ActorCkpt;

/// <summary>
/// The one home of the rank and world-size rules: a world has at least one rank, and ranks are
/// numbered 0 to world size - 1. The planner, the rank's state and the sharding helpers all ask here.
/// </summary>
internal static class Ranks
{
    /// <summary>What is wrong with rank <paramref name="rank"/> in a world of <paramref name="worldSize"/>, or null when nothing is.</summary>
    public static string? Problem(int rank, int worldSize) =>
        worldSize < 1 || rank < 0 || rank >= worldSize ? $"rank {rank} is outside world size {worldSize}" : null;

    /// <summary>What is wrong with a rank's plan joining a save whose earlier ranks said the world has <paramref name="worldSize"/> ranks, or null.</summary>
    public static string? Problem(int rank, int planWorldSize, int worldSize) =>
        planWorldSize != worldSize ? $"rank {rank} says the world size is {planWorldSize}, earlier ranks said {worldSize}" : Problem(rank, worldSize);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> (for <paramref name="paramName"/>) naming the problem, if any.</summary>
    public static void Check(int rank, int worldSize, string paramName)
    {
        if (Problem(rank, worldSize) is { } problem) throw new ArgumentOutOfRangeException(paramName, problem);
    }
}

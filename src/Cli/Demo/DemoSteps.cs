namespace ActorCkpt.Cli.Demo;

/// <summary>Which steps a demo saves: those after the newest one the root has.</summary>
internal static class DemoSteps
{
    /// <summary>
    /// The first of <paramref name="count"/> steps after <paramref name="newest"/> (none: from 1); throws
    /// naming the root when they would pass <see cref="long.MaxValue"/>, where a step number ends
    /// (before, the sum wrapped and the save was refused as a negative step).
    /// </summary>
    public static long First(long? newest, long count, string root)
    {
        var latest = newest ?? 0;
        if (latest > long.MaxValue - count)
            throw new ActorCkptException($"the newest step in '{root}' is {latest}: {(count == 1 ? "no step follows it" : $"no {count} steps follow it")} (a step is at most {long.MaxValue})");
        return latest + 1;
    }
}

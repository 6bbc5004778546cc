namespace ActorCkpt.Cli.Bench;

/// <summary>
/// Whether one more run of the bench fits when its files are written to memory (tmpfs, ramfs). A
/// run keeps three copies of the state there (the async save, the sync save, the raw files) and the
/// bench deletes nothing before it ends, so a run that does not fit has the kernel kill the bench
/// mid-run, every figure lost. Measured at 1 GiB: the files grow by 3 GiB a run and the bench
/// process peaks at about 7 GiB, reached in the first run; so a run needs room for its three
/// copies and one more for the process's swings.
/// </summary>
internal static class RunRoom
{
    /// <summary>Memory one more run of a state of <paramref name="stateBytes"/> needs available.</summary>
    public static long Needed(long stateBytes) => 4 * stateBytes;

    /// <summary>True for a file system whose files are held in memory.</summary>
    public static bool InMemory(string fileSystem) => fileSystem is "tmpfs" or "ramfs";

    /// <summary>
    /// Null when run <paramref name="done"/> + 1 of <paramref name="requested"/> fits (or the files
    /// are not in memory); otherwise the line that says why the bench stops there.
    /// </summary>
    public static string? Refusal(string fileSystem, long stateBytes, long availableBytes, int done, int requested) =>
        !InMemory(fileSystem) || availableBytes >= Needed(stateBytes) ? null
            : $"{(done == 0 ? "no run" : $"only {done} of the {requested} runs")} fit in memory: on {fileSystem} a run keeps 3 copies of the " +
              $"{Mib(stateBytes)} MiB state (nothing is deleted until the bench ends) and needs {Mib(Needed(stateBytes))} MiB available, " +
              $"{Mib(availableBytes)} MiB are; use fewer --runs, a smaller --size-mb, or a --dir on disk";

    /// <summary>Memory the kernel can hand out now without swapping (MemAvailable).</summary>
    public static long AvailableBytes()
    {
        var line = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemAvailable:", StringComparison.Ordinal))
                   ?? throw new PlatformNotSupportedException("/proc/meminfo has no MemAvailable line");
        return long.Parse(line["MemAvailable:".Length..].Trim().Split(' ')[0]) * 1024;
    }

    private static long Mib(long bytes) => bytes >> 20;
}

namespace ActorCkpt.Cli.Bench;

/// <summary>
/// Whether one more run of the bench fits when its files are written to memory (tmpfs, ramfs), and
/// the files earlier runs leave there. A run writes three copies of the state (the async save, the
/// sync save, the raw files); on disk nothing is deleted before the bench ends (every save writes
/// new blocks), but in memory each run first deletes what the runs before it wrote except the
/// newest step, as a training job's retention would (<see cref="FreeEarlierRunsAsync"/>). A run that does
/// not fit has the kernel kill the bench mid-run, every figure lost. Measured at 1 GiB: the bench
/// process peaks at about 7 GiB, reached in the first run; so a run needs room for its three copies
/// and one more for the kept step and the process's swings.
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
            : $"{(done == 0 ? "no run" : $"only {done} of the {requested} runs")} fit in memory: on {fileSystem} a run writes 3 copies of the " +
              $"{Mib(stateBytes)} MiB state beside the newest step of the runs before it and needs {Mib(Needed(stateBytes))} MiB available, " +
              $"{Mib(availableBytes)} MiB are; use a smaller --size-mb, or a --dir on disk";

    /// <summary>
    /// Deletes every committed step but the newest through the catalog (<paramref name="collect"/>, a garbage
    /// collection keeping the newest this many; the root left for inspection stays whole, its catalog true)
    /// and every raw run under <paramref name="rawDir"/>. In memory,
    /// files kept from run to run measure the machine rather than the software: on these machines
    /// (virtual, 24 GB) a 1 GiB write into tmpfs took 0.18–0.21 s into memory the file system had
    /// held and freed, whether just freed or 15 s before, and 1.8–2.1 s once the files kept passed
    /// about 6 GiB (memory the hypervisor had not handed the guest yet). A training job's retention
    /// deletes old steps, so its saves write into freed memory.
    /// </summary>
    public static async Task FreeEarlierRunsAsync(Func<int, Task<GarbageCollected>> collect, string rawDir)
    {
        var collected = await collect(1);
        if (collected.Failures.Count > 0)
            throw new ActorCkptException($"the bench could not delete its earlier runs' steps: {string.Join("; ", collected.Failures)}");
        foreach (var run in Directory.EnumerateDirectories(rawDir)) Directory.Delete(run, recursive: true);
    }

    /// <summary>Memory the kernel can hand out now without swapping (MemAvailable).</summary>
    public static long AvailableBytes()
    {
        var line = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemAvailable:", StringComparison.Ordinal))
                   ?? throw new PlatformNotSupportedException("/proc/meminfo has no MemAvailable line");
        return long.Parse(line["MemAvailable:".Length..].Trim().Split(' ')[0]) * 1024;
    }

    private static long Mib(long bytes) => bytes >> 20;
}

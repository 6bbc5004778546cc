namespace ActorCkpt;

/// <summary>
/// What is wrong with where a host keeps its memory-tier copies, one line each, for the holder to
/// warn of as it starts: a directory that is not on tmpfs (its copies then go through a disk's file
/// system at its speed), and a budget larger than the tmpfs (once it is full, saves fail for room
/// instead of evicting older steps, since the budget never asks for an eviction).
/// </summary>
internal static class ReplicaDirectoryCheck
{
    /// <summary>The problems of keeping copies in <paramref name="directory"/>, on <paramref name="fs"/>, within <paramref name="budgetBytes"/>.</summary>
    public static IReadOnlyList<string> Problems(string directory, MountedFileSystem fs, long budgetBytes)
    {
        var problems = new List<string>();
        if (fs.Type == "unknown") return problems;
        if (!fs.IsMemory)
            problems.Add($"'{directory}' is on {fs.Type}, not tmpfs: the memory tier's copies go through that file system at its speed; " +
                         "set actorckpt.tiers.memory.directory to a tmpfs directory such as /dev/shm/actorckpt");
        else if (fs.SizeBytes > 0 && budgetBytes > fs.SizeBytes)
            problems.Add($"the budget of {budgetBytes} bytes is more than the {fs.SizeBytes} bytes of the {fs.Type} at '{directory}': once it is full, " +
                         "saves fail for room instead of evicting older steps; set actorckpt.tiers.memory.budget to at most its size, or a percentage such as 50%");
        return problems;
    }
}

namespace ActorCkpt.Cli;

/// <summary>
/// Which committed steps the reading commands (verify, inspect, export, unshard, gc) read: those whose
/// metadata is on disk as a regular file, and those the catalog records as committed to disk whatever
/// is at their metadata path. A step the catalog vouches for whose metadata went (removed, a FIFO or a
/// link put in its place) fails the reader checks (<see cref="StepConsistency.RequireMetadataFile"/>):
/// skipped, it would leave an older step to pass for the newest. Without a catalog, a directory
/// without metadata is simply not committed; a step the catalog records as deleted is not read.
/// </summary>
internal static class ReaderSteps
{
    /// <summary>The steps to read, oldest first: <paramref name="committedOnDisk"/> and <paramref name="inCatalog"/> together. Pure.</summary>
    public static IReadOnlyList<long> Of(IEnumerable<long> committedOnDisk, IEnumerable<long> inCatalog) =>
        committedOnDisk.Union(inCatalog).Order().ToArray();

    /// <summary>The steps of <paramref name="store"/> to read, oldest first, with the root's <paramref name="catalog"/>.</summary>
    public static IReadOnlyList<long> Of(CheckpointStore store, CatalogChecksums catalog) => Of(store.CommittedSteps(), catalog.OnDisk);

    /// <summary>
    /// The root's catalog (<see cref="CatalogChecksums.Read"/>), or <see cref="CatalogChecksums.None"/>
    /// when the root has no step directory: nothing to check then, and a catalog a starting planner is
    /// still making is never opened (a save's start is journaled before its directory is made).
    /// </summary>
    public static CatalogChecksums Catalog(CheckpointStore store, string dir, string? hocon) =>
        store.Blobs.ListDirectories("").Any(name => CheckpointLayout.TryParseStepDirectory(name, out _))
            ? CatalogChecksums.Read(dir, hocon)
            : CatalogChecksums.None;

    /// <summary>
    /// <paramref name="step"/>, or the newest step to read when null; throws <see cref="CheckpointNotFoundException"/>
    /// when there is none, and <see cref="CheckpointFormatException"/> when the catalog records the step
    /// as committed but its metadata is missing or not a regular file.
    /// </summary>
    public static long Resolve(CheckpointStore store, CatalogChecksums catalog, long? step)
    {
        var resolved = step ?? (Of(store, catalog) is { Count: > 0 } steps ? steps[^1]
            : throw new CheckpointNotFoundException($"no committed checkpoint in '{store.Blobs.Root}'" + MemoryOnly(store)));
        if (catalog.For(resolved) is not null) StepConsistency.RequireMetadataFile(store, resolved);
        else if (!store.IsCommitted(resolved) && store.MemorySteps().IsCommitted(resolved))
            throw new CheckpointNotFoundException($"step {resolved} is in the memory tier only, its bytes in the hosts' replicas, not under '{store.Blobs.Root}': " +
                                                  "this command reads steps on disk; `actorckpt ls` lists its holders");
        return resolved;
    }

    /// <summary>
    /// What a root with no step on disk still has in the memory tier (metadata under
    /// <see cref="CheckpointLayout.MemoryDirectory"/>, bytes in the hosts' replicas), as the end of a
    /// "no committed checkpoint" line; empty when it has none.
    /// </summary>
    public static string MemoryOnly(CheckpointStore store)
    {
        var memory = store.MemorySteps().CommittedSteps();
        return memory.Count switch
        {
            0 => "",
            1 => $" on disk; step {memory[0]} is in the memory tier only (`actorckpt ls` lists its holders)",
            _ => $" on disk; {memory.Count} steps ({memory[0]} to {memory[^1]}) are in the memory tier only (`actorckpt ls` lists their holders)",
        };
    }
}

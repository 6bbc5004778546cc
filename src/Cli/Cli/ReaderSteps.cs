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
        store.StepDirectories().Any()
            ? CatalogChecksums.Read(dir, hocon)
            : CatalogChecksums.None;

    /// <summary>
    /// The step of <paramref name="steps"/> (not empty, oldest first) a reader takes without --step: the
    /// newest <paramref name="catalog"/> vouches for, or the newest when it vouches for none.
    /// </summary>
    public static long Newest(IReadOnlyList<long> steps, CatalogChecksums catalog) =>
        steps.LastOrDefault(s => catalog.Unsettled(s) is null, steps[^1]);

    /// <summary>
    /// <paramref name="step"/>, or the newest step to read when null; throws <see cref="CheckpointNotFoundException"/>
    /// when there is none. Whether it can be read is <see cref="RequireOnDisk"/>'s to say.
    /// </summary>
    /// <remarks>
    /// The newest is the newest the catalog vouches for (<see cref="CatalogChecksums.Unsettled"/>):
    /// beside a running job, a newer step may be on disk whose commit the planner has not journaled
    /// yet. Only when the catalog vouches for none is the newest on disk taken (and then refused by
    /// the commands that must not read an unsettled step, naming why). <paramref name="passedOver"/> is
    /// then a note naming the newer steps passed over; else null.
    /// </remarks>
    public static long Resolve(CheckpointStore store, CatalogChecksums catalog, long? step, out string? passedOver)
    {
        passedOver = null;
        var steps = step is null ? Of(store, catalog) : [];
        if (step is null && steps.Count == 0) throw new CheckpointNotFoundException($"no committed checkpoint in '{store.Blobs.Root}'" + MemoryOnly(store));
        var resolved = step ?? Newest(steps, catalog);
        if (step is null && steps[^1] != resolved)
            passedOver = $"note: {string.Join("; ", steps.Where(s => s > resolved).Select(s => $"step {s} is on disk but {catalog.Unsettled(s)}"))} " +
                         $"(a commit under way, or one a planner's next start settles): read step {resolved}, the newest the catalog vouches for";
        return resolved;
    }

    /// <summary>
    /// Throws <see cref="CheckpointFormatException"/> when <paramref name="catalog"/> records <paramref name="step"/>
    /// as committed to disk but its metadata is missing or not a regular file, and <see cref="CheckpointNotFoundException"/>
    /// when the step is in the memory tier or the object tier only.
    /// </summary>
    private static void RequireOnDisk(CheckpointStore store, CatalogChecksums catalog, long step)
    {
        var root = store.Blobs.Root;
        var onDisk = store.IsCommitted(step);
        // Before, a step only the object tier held was said to have lost its metadata, as if the root were damaged.
        if (catalog.Entry(step) is { Status: CheckpointStatus.Committed, OnDisk: false, OnObject: true } uploaded && !onDisk)
            throw new CheckpointNotFoundException($"step {step} is in the object tier only, under '{uploaded.Uploaded}', not under '{root}': " +
                                                  "this command reads steps on disk; give it the tier's root, which reads as a checkpoint root of its own");
        if (!onDisk && (catalog.Entry(step) is { Status: CheckpointStatus.Committed, OnDisk: false, Tier: StorageTier.Memory }
                        || (catalog.For(step) is null && store.MemorySteps().IsCommitted(step))))
            throw new CheckpointNotFoundException($"step {step} is in the memory tier only, its bytes in the hosts' replicas, not under '{root}': " +
                                                  "this command reads steps on disk; `actorckpt ls` lists its holders");
        if (catalog.For(step) is not null) StepConsistency.RequireMetadataFile(store, step);
    }

    /// <summary>
    /// Runs <paramref name="read"/> on <paramref name="step"/> (the newest when null, <see cref="Resolve"/>)
    /// with the root's catalog. Beside a running job, retention may delete the step while it is read:
    /// when <paramref name="read"/> fails (or <paramref name="failed"/> says its result is a failure)
    /// and the catalog, read again, records the step as deleted, the newest is resolved again and read
    /// anew (up to 3 times), and a step asked for by number is refused saying it was deleted meanwhile.
    /// <paramref name="note"/> is told the note of <see cref="Resolve"/>, if any, before the step is read.
    /// </summary>
    public static T ReadStep<T>(CheckpointStore store, string dir, string? hocon, long? step, Action<string> note, Func<CatalogChecksums, long, T> read, Func<T, bool>? failed = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            var catalog = Catalog(store, dir, hocon);
            // Deleted before this command began: said as such, not as a race with retention.
            if (step is { } asked && catalog.Deleted(asked) is { } gone) throw new CheckpointNotFoundException($"step {asked} {gone}");
            var resolved = Resolve(store, catalog, step, out var passedOver);
            if (passedOver is not null) note(passedOver);
            string? deleted;
            try
            {
                // Checked here: retention may have deleted the step since the catalog was read.
                RequireOnDisk(store, catalog, resolved);
                var result = read(catalog, resolved);
                if (failed?.Invoke(result) != true || (deleted = DeletedNow(store, dir, hocon, resolved)) is null) return result;
            }
            catch (Exception e) when (e is CheckpointFormatException or CheckpointNotFoundException or IOException && DeletedNow(store, dir, hocon, resolved) is { } why)
            {
                deleted = why;
            }
            if (step is not null || attempt == 3)
                throw new ActorCkptException($"step {resolved} {deleted} while this command read it" +
                                             (step is null ? $"; {attempt} newest steps in a row went so: run it again, or pass --step" : ": pass --step a step that is kept, or none for the newest"));
        }
    }

    /// <summary>Why the catalog, read again now, records <paramref name="step"/> as deleted; null when it does not (or cannot be read).</summary>
    internal static string? DeletedNow(CheckpointStore store, string dir, string? hocon, long step)
    {
        try
        {
            return Catalog(store, dir, hocon).Deleted(step);
        }
        catch (ActorCkptException)
        {
            return null;
        }
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

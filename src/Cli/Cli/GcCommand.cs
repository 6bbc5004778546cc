
namespace ActorCkpt.Cli;

/// <summary>
/// <c>actorckpt gc ROOT</c>: starts the root's planner, which on recovery settles the catalog
/// against the disk, then removes uncommitted debris and applies retention now. Refused while
/// another planner (a running job) owns the root, and while a committed step is damaged (its
/// metadata is not what the catalog recorded, or disagrees with its data files' headers: see
/// <see cref="StepConsistency"/>): retention counts the newest steps as the ones to keep, so it
/// could delete the last whole checkpoint and keep a damaged one. gc then prints each damaged step
/// and changes nothing; the damage is for a person to look at (<c>verify</c>), never repaired here.
/// Before retention deletes anything, one of the steps it keeps must also verify whole, every block.
/// </summary>
internal static class GcCommand
{
    /// <summary>Collects the garbage of <paramref name="root"/>; returns the exit code.</summary>
    public static async Task<int> RunAsync(string root, string? hocon, CliOutput output)
    {
        // gc tidies a root a planner made; on any other folder it would make a catalog where none was.
        var node = NodeConfig.Checked(hocon);
        RootChecks.RequireCatalog(root, node);
        RootChecks.CheckCatalogFile(root, node, required: false);
        // Only a check: a running job's planner holds this lock, and gc must not run beside it.
        var blobs = RootStore.Open(root, node);
        CatalogLock.EnsureFree(blobs);
        // A read-only root has nothing gc could remove; its stand-in planner would only report each removal failing.
        if (CatalogLock.WhyReadOnly(blobs) is { } readOnly) throw new ActorCkptException($"gc changes nothing on a read-only root: {readOnly}");
        var entries = CatalogChecksums.HasCatalog(root, node) ? await CatalogChecksums.ReadEntriesAsync(root, node) : null;
        var catalog = entries is null ? CatalogChecksums.None : CatalogChecksums.From(entries);
        var disk = new CheckpointStore(blobs);
        // The catalog's committed steps too: one whose metadata went is damaged, not skipped.
        var damaged = ReaderSteps.Of(disk, catalog).Select(s => (Step: s, Why: StepConsistency.Damage(disk, s, catalog.For(s)))).Where(d => d.Why is not null).ToList();
        foreach (var (s, why) in damaged) output.Line($"step {s} is damaged: {why}");
        if (damaged.Count > 0)
            throw new ActorCkptException($"gc changes nothing while committed steps are damaged (step {string.Join(", ", damaged.Select(d => d.Step))}): " +
                                         "check them with actorckpt verify, and move or remove them by hand");
        // Retention keeps the newest steps: before it deletes older ones, one it keeps must read whole,
        // every block (the checks above read metadata and headers only). Before, a newest step with a
        // flipped data byte was kept and every whole one deleted.
        var committed = disk.CommittedSteps();
        var settings = ActorCkptSettings.Create(node);
        var deleting = settings.Retention.StepsToDelete(committed);
        if (deleting.Count > 0 && NoneWhole(disk, committed.Except(deleting).OrderDescending().ToList(), output) is { } kept)
            throw new ActorCkptException($"gc deletes nothing: retention would delete steps {string.Join(", ", deleting)} and keep steps {string.Join(", ", kept)}, " +
                                         "none of which reads whole: check them with actorckpt verify, and move or remove them by hand");
        var memoryDone = MemoryTierGc.Run(blobs, settings, entries ?? []);
        // Steps an earlier planner deleted from the disk (also those whose object-tier copy stays) and whose files
        // it left (a load held them, it ended within the removal grace, a removal failed): the planner removes
        // them at its start or in this collection, and reports them neither as deletions nor, mostly, as debris.
        var leftOfDeleted = disk.StepDirectories().Where(s => entries?.Any(e => e.Step == s
            && e.Status is CheckpointStatus.Deleted or CheckpointStatus.Committed && !e.OnDisk) == true).ToList();
        await using var ckpt = Checkpointer.Start(root, hocon);
        var done = await ckpt.CollectGarbageAsync(TimeSpan.FromMinutes(10));
        var stillThere = disk.StepDirectories().ToHashSet();
        var leftRemoved = leftOfDeleted.Where(s => !stillThere.Contains(s) && !done.DebrisRemoved.Contains(s)).ToList();
        foreach (var failure in done.Failures) output.Line("could not remove " + failure);
        // An object store keeps the parts of an upload no one completed (a writer killed mid-file),
        // unlisted and billed, until they are aborted: no save runs now (the lock above), so none is live.
        var aborted = new List<string>();
        if (ckpt.Store.Blobs is ObjectBlobStore objects)
        {
            foreach (var (path, id) in objects.AbandonedUploads())
            {
                objects.AbortUpload(path, id);
                aborted.Add(path);
            }
            output.Line(aborted.Count == 0 ? "no unfinished uploads" : $"aborted {aborted.Count} unfinished uploads: {string.Join(", ", aborted)}");
        }
        var retention = ckpt.Settings.Retention;
        output.Line(done.DebrisRemoved.Count == 0 ? "no debris" : $"removed the debris of steps {string.Join(", ", done.DebrisRemoved)}");
        if (leftRemoved.Count > 0) output.Line($"removed the files left of steps {string.Join(", ", leftRemoved)}, deleted from the disk before");
        if (memoryDone is not null) output.Line(memoryDone.Line);
        output.Line(done.Deleted.Count == 0
            ? $"retention (keep-last {retention.KeepLast}, keep-every {retention.KeepEvery}) deletes nothing"
            : $"deleted steps {string.Join(", ", done.Deleted)} (keep-last {retention.KeepLast}, keep-every {retention.KeepEvery})");
        output.Report(new Dictionary<string, object?>
        {
            ["root"] = root, ["debris_removed"] = done.DebrisRemoved, ["deleted"] = done.Deleted, ["deleted_before_files_removed"] = leftRemoved,
            ["committed"] = (await ckpt.ReadCatalogAsync()).Where(e => e.OnDisk).Select(e => e.Step).Order().ToList(),
            ["uploads_aborted"] = aborted,
            ["memory_debris"] = memoryDone is null ? null : new Dictionary<string, object?>
            {
                ["host"] = memoryDone.Host, ["directory"] = memoryDone.Directory,
                ["temporary_files_removed"] = memoryDone.TemporaryFiles, ["copies_dropped"] = memoryDone.CopiesDropped,
            },
        });
        return done.Failures.Count == 0 ? 0 : 1;
    }

    /// <summary>
    /// Verifies <paramref name="kept"/> (newest first) until one reads whole; null when one does, else the
    /// steps, each told with its first failure.
    /// </summary>
    private static IReadOnlyList<long>? NoneWhole(CheckpointStore disk, IReadOnlyList<long> kept, CliOutput output)
    {
        foreach (var step in kept)
        {
            var failures = CheckpointVerifier.Verify(disk, step);
            if (failures.Count == 0) return null;
            output.Line($"step {step} does not read whole: {failures[0]}{(failures.Count > 1 ? $" (and {failures.Count - 1} more)" : "")}");
        }
        return kept;
    }
}

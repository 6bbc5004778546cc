using System.Globalization;

namespace ActorCkpt.Cli;

/// <summary>
/// <c>actorckpt catalog rebuild ROOT [--config F] [--json]</c>: a new catalog from what is on disk.
/// The old catalog is kept beside it, renamed (its SQLite file; on PostgreSQL the root's id, so the
/// old journal stays untouched and the new one starts empty). Every committed step is verified byte
/// for byte first; one that fails, and any step directory without committed metadata, is moved
/// whole into <see cref="CheckpointStore.QuarantineDirectory"/> and not admitted. Then a planner recovers the empty catalog and records each step left on disk as
/// committed (<see cref="CatalogReconciler"/>), with retention off so the rebuild deletes nothing.
/// Refused while a planner (a running job) holds the root.
/// </summary>
internal static class CatalogRebuildCommand
{
    /// <summary>Rebuilds the catalog of <paramref name="root"/>; returns the exit code.</summary>
    public static async Task<int> RunAsync(string root, string? hocon, CliOutput output)
    {
        // A root a planner made: on a mistyped path this would make a catalog and move step folders.
        var node = NodeConfig.Checked(hocon);
        RootChecks.RequireCatalog(root, node);
        var blobs = RootStore.Open(root, node);
        var store = new CheckpointStore(blobs);
        var quarantined = new List<(long Step, string Why, string MovedTo)>();
        string keptAs;
        // Held until the old catalog is out of the way, so no job starts on the root meanwhile.
        using (CatalogLock.Take(blobs))
        {
            // Every step is verified before anything moves: an error that is not a finding about a step stops the rebuild with nothing changed.
            var failed = store.CommittedSteps().Select(step => (Step: step, Why: Problems(store, step))).Where(s => s.Why is not null).ToList();
            // A directory without committed metadata may be a step the damaged catalog recorded as
            // committed whose metadata went since: the planner that starts next would remove it as
            // debris. Nothing in it can be admitted, and nothing is lost: it is kept with the rest.
            failed.AddRange(store.ScanSteps(_ => false).Steps.Where(s => s.Commit is null)
                .Select(s => (s.Step, Why: (string?)$"'{CheckpointLayout.InStep(s.Step, CheckpointLayout.MetadataFile)}' is missing or not a regular file: not committed, or its metadata was lost")));
            foreach (var (step, why) in failed)
            {
                var movedTo = store.Quarantine(step);
                quarantined.Add((step, why!, movedTo));
                output.Line($"step {step} failed verification ({why}): moved to {Path.Combine(root, movedTo)}, not admitted");
            }
            keptAs = SetAside(root, blobs, node);
        }
        output.Line($"the old catalog is kept as {keptAs}");

        // Retention off: the new catalog records what is there; it is not the moment to delete anything.
        await using (var ckpt = Checkpointer.Start(root, (hocon ?? "") + "\nactorckpt.retention { keep-last = 0, keep-every = 0 }\n"))
        {
            var entries = await ckpt.ReadCatalogAsync();
            var admitted = entries.Where(e => e.Status == CheckpointStatus.Committed).Select(e => e.Step).ToList();
            output.Line(admitted.Count == 0
                ? $"rebuilt the catalog of {root}: no committed step on disk"
                : $"rebuilt the catalog of {root}: {admitted.Count} committed {(admitted.Count == 1 ? "step" : "steps")} admitted ({string.Join(", ", admitted)})");
            output.Report(new Dictionary<string, object?>
            {
                ["root"] = root,
                ["admitted"] = admitted,
                ["quarantined"] = quarantined.Select(q => new Dictionary<string, object?> { ["step"] = q.Step, ["reason"] = q.Why, ["moved_to"] = q.MovedTo }).ToList(),
                ["old_catalog"] = keptAs,
            });
        }
        return 0;
    }

    /// <summary>
    /// Why step <paramref name="step"/> cannot be admitted (its metadata unreadable or not a regular
    /// file, or any file, header, chunk or block wrong: <see cref="CheckpointVerifier"/>'s findings), or
    /// null. Any other error (permissions, too many open files, an I/O error) is thrown: it says
    /// nothing about the step.
    /// </summary>
    private static string? Problems(CheckpointStore store, long step)
    {
        try
        {
            var failures = CheckpointVerifier.Verify(store, step);
            return failures.Count == 0 ? null : string.Join("; ", failures.Take(3).Select(f => f.ToString())) + (failures.Count > 3 ? $"; and {failures.Count - 3} more" : "");
        }
        catch (Exception e) when (e is CheckpointFormatException or NotARegularFileException)
        {
            return e.Message;
        }
    }

    /// <summary>Renames the old catalog out of the way (nothing deleted); returns what it is kept as.</summary>
    private static string SetAside(string root, IBlobStore blobs, Akka.Configuration.Config node)
    {
        var suffix = ".replaced-" + DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        if (RootStore.CatalogFile(root, node) is { } file)
        {
            if (!Path.Exists(file)) return "nothing: there was no catalog file";
            // The journal's companions go with it: a WAL or rollback journal left behind would be replayed into the new file.
            foreach (var companion in new[] { "-wal", "-shm", "-journal" })
                if (File.Exists(file + companion)) File.Move(file + companion, file + suffix + companion);
            File.Move(file, file + suffix);
            return file + suffix;
        }
        // A catalog on a server is keyed by the root's id: a new id starts a new catalog, the old rows stay.
        if (!blobs.Exists(CheckpointLayout.RootIdFile)) return "nothing: the root had no id";
        blobs.Rename(CheckpointLayout.RootIdFile, CheckpointLayout.RootIdFile + suffix, overwrite: false);
        return $"the rows of the old root id (its id file is kept as {blobs.Root}/{CheckpointLayout.RootIdFile + suffix})";
    }
}

using System.Globalization;

namespace ActorCkpt.Cli;

/// <summary>
/// <c>actorckpt catalog rebuild ROOT [--config F] [--json]</c>: a new catalog from what is on disk.
/// The old catalog is kept beside it: the root's own SQLite file is copied aside once the new one is built beside
/// it and whole, which then takes its name in one rename; on PostgreSQL (or in a SQLite file named
/// outside the root) the root's id is renamed, so the old journal stays untouched and the new one starts empty. Every committed step is verified byte
/// for byte first; one that fails, and any step directory without committed metadata, is moved
/// whole into <see cref="CheckpointStore.QuarantineDirectory"/> and not admitted. Then a planner recovers the empty catalog and records each step left on disk as
/// committed (<see cref="CatalogReconciler"/>), with retention off so the rebuild deletes nothing. Memory steps are not
/// admitted (their holders' processes hold them, not the disk): their metadata is set aside whole, with the old catalog.
/// Refused while a planner (a running job) holds the root.
/// </summary>
internal static class CatalogRebuildCommand
{
    /// <summary>Rebuilds the catalog of <paramref name="root"/>; returns the exit code.</summary>
    public static async Task<int> RunAsync(string root, string? hocon, CliOutput output)
    {
        // A root a planner made: on a mistyped path this would make a catalog and move step folders.
        var node = NodeConfig.Checked(hocon);
        RootChecks.RequireCatalog(root, node, orCommittedSteps: true);
        var blobs = RootStore.Open(root, node);
        var store = new CheckpointStore(blobs);
        var quarantined = new List<(long Step, string Why, string MovedTo)>();
        // Only the root's own SQLite file is rebuilt beside it and swapped in: one named elsewhere may hold
        // other roots' catalogs (and a copy of this root shares it), so it is keyed anew as a server's is.
        var sqlite = ActorCkptConfig.CatalogInRoot(node, root) ? RootStore.CatalogFile(root, node) : null;
        // A catalog server out of reach is found before anything moves: before, the root's id was set aside
        // (and failed steps quarantined), and the rebuild then failed, leaving the root without a catalog.
        var catalog = ActorCkptConfig.CatalogConnection(node, root);
        CatalogServer.VerifyWhenServer(catalog);
        var keptAs = "";
        List<long> memorySteps;
        string? memoryKeptAs = null, memoryAside = null;
        // Held while steps are verified and quarantined, so no job starts on the root meanwhile.
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
            // A catalog on a server (or in a SQLite file outside the root) is keyed by the root's id: a new id starts a new catalog.
            // Checked again just before: the verification above may have taken hours.
            if (sqlite is null)
            {
                CatalogServer.VerifyWhenServer(catalog);
                keptAs = SetAside(blobs);
                // The mark counts the old id's journal: kept, it would stand above the new journal's events, and a copy of the
                // rebuilt root would go unnoticed until the new journal passed it (SharedCatalogCheck). The new planner marks afresh.
                if (blobs.Exists(CheckpointLayout.MarkFile)) blobs.DeleteFile(CheckpointLayout.MarkFile);
            }
            // An id that is not one (emptied, overwritten) would stop the rebuild's own start: set aside, the root gets a new one.
            else if (UnreadableId(store) is { } why) output.Line($"the root's id is not readable ({why}): its file is kept as {RenameId(blobs)}; the root gets a new id");
            // The planner that starts on the new catalog removes memory metadata no catalog entry holds: set aside whole, last
            // (put back if the start fails), it goes with the old catalog. Before, it was deleted without a word.
            var memory = store.MemorySteps();
            var inMemory = memory.ScanSteps(_ => false).Steps;
            memorySteps = inMemory.Where(m => m.Commit is not null && !store.IsCommitted(m.Step)).Select(m => m.Step).ToList();
            if (inMemory.Count > 0)
            {
                memoryAside = RenameAside(blobs, CheckpointLayout.MemoryDirectory);
                memoryKeptAs = $"{blobs.Root}/{memoryAside}";
                output.Line(memorySteps.Count == 0
                    ? $"the memory tier's metadata is kept as {memoryKeptAs}, with the old catalog (its steps are on disk too, and admitted from there)"
                    : $"memory {(memorySteps.Count == 1 ? "step" : "steps")} {string.Join(", ", memorySteps)} not admitted: a catalog rebuilt from disk " +
                      $"holds disk steps only (memory steps live in their holders' processes); the memory tier's metadata is kept as {memoryKeptAs}, with the old catalog");
            }
        }

        // Retention off: the new catalog records what is there; it is not the moment to delete anything.
        // A SQLite catalog is built beside the old one and swapped in once whole: a rebuild killed
        // before that leaves the old catalog in place, not an empty one that vouches for nothing.
        var building = sqlite is null ? null : sqlite + Building;
        if (building is not null) DeleteWithCompanions(building);
        var overrides = "\nactorckpt.retention { keep-last = 0, keep-every = 0 }\n" + (building is null ? "" : CatalogAt(building, node, root));
        List<long> admitted;
        try
        {
            await using var ckpt = Checkpointer.Start(root, (hocon ?? "") + overrides);
            var entries = await ckpt.ReadCatalogAsync();
            admitted = entries.Where(e => e.Status == CheckpointStatus.Committed).Select(e => e.Step).ToList();
        }
        catch
        {
            // The old catalog stays: the memory tier's metadata goes back with it (its planner has stopped by now).
            if (memoryAside is not null) PutBack(blobs, memoryAside);
            throw;
        }
        if (building is not null)
        {
            using (CatalogLock.Take(blobs))
            {
                // The old catalog is copied aside, then replaced by one rename: at no moment is there no catalog.
                keptAs = KeepCopy(sqlite!);
                foreach (var companion in Companions) File.Delete(sqlite + companion);
                MoveWithCompanions(building, sqlite!);
                // Built under another name, the catalog counted as one outside the root: its planner marked the root and
                // claimed the file. Neither has a use for the root's own catalog (and a rebuild killed before left its claim too).
                var claim = Path.Combine(Path.GetDirectoryName(building)!, CatalogClaim.FileName(Path.GetFileName(building), CheckpointNode.CatalogId(store)));
                foreach (var leftover in new[] { claim, claim + ".holder", Path.Combine(root, CheckpointLayout.MarkFile) }) File.Delete(leftover);
            }
        }
        output.Line($"the old catalog is kept as {keptAs}");
        output.Line(admitted.Count == 0
            ? $"rebuilt the catalog of {root}: no committed step on disk"
            : $"rebuilt the catalog of {root}: {admitted.Count} committed {(admitted.Count == 1 ? "step" : "steps")} admitted ({string.Join(", ", admitted)})");
        output.Report(new Dictionary<string, object?>
        {
            ["root"] = root,
            ["admitted"] = admitted,
            ["quarantined"] = quarantined.Select(q => new Dictionary<string, object?> { ["step"] = q.Step, ["reason"] = q.Why, ["moved_to"] = q.MovedTo }).ToList(),
            ["old_catalog"] = keptAs,
            ["memory_steps_set_aside"] = memorySteps,
            ["memory_kept_as"] = memoryKeptAs,
        });
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

    /// <summary>Moves the memory tier's metadata set aside as <paramref name="aside"/> back, when its place is free.</summary>
    private static void PutBack(IBlobStore blobs, string aside)
    {
        try
        {
            if (!blobs.Exists(CheckpointLayout.MemoryDirectory)) blobs.Rename(aside, CheckpointLayout.MemoryDirectory, overwrite: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectStoreException)
        {
            // The rebuild's own failure is the line; the metadata stays under the name it said.
        }
    }

    /// <summary>The suffix of a SQLite catalog being rebuilt, beside the one it replaces.</summary>
    internal const string Building = ".rebuilding";

    // The journal's companions go with a SQLite file: a WAL or rollback journal left behind would be replayed into another file.
    private static readonly string[] Companions = ["-wal", "-shm", "-journal"];

    /// <summary>HOCON that puts the catalog in SQLite file <paramref name="file"/>, the configured connection's other settings kept.</summary>
    private static string CatalogAt(string file, Akka.Configuration.Config node, string root)
    {
        var connection = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(ActorCkptConfig.CatalogConnection(node, root).ConnectionString) { DataSource = file };
        return $"actorckpt.catalog {{ provider = sqlite, connection-string = {System.Text.Json.JsonSerializer.Serialize(connection.ToString())} }}\n";
    }

    private static void DeleteWithCompanions(string file)
    {
        foreach (var path in Companions.Select(c => file + c).Append(file)) File.Delete(path);
    }

    /// <summary>Moves SQLite file <paramref name="from"/> over <paramref name="to"/>: its companions first (a closed database has none), then the file in one rename.</summary>
    private static void MoveWithCompanions(string from, string to)
    {
        foreach (var companion in Companions)
            if (File.Exists(from + companion)) File.Move(from + companion, to + companion, overwrite: true);
        File.Move(from, to, overwrite: true);
    }

    /// <summary>Copies SQLite catalog <paramref name="file"/> with its companions to a name of its own; returns what it is kept as.</summary>
    private static string KeepCopy(string file)
    {
        if (!Path.Exists(file)) return "nothing: there was no catalog file";
        var kept = file + Replaced();
        foreach (var companion in Companions)
            if (File.Exists(file + companion)) File.Copy(file + companion, kept + companion);
        File.Copy(file, kept);
        return kept;
    }

    private static string Replaced() => ".replaced-" + DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);

    /// <summary>Why the root's id file cannot be read as an id, or null (read, or absent: the start makes one).</summary>
    private static string? UnreadableId(CheckpointStore store)
    {
        if (!store.HasRootId()) return null;
        try
        {
            store.RootId();
            return null;
        }
        catch (CheckpointFormatException e)
        {
            return e.Message;
        }
    }

    /// <summary>Sets a catalog on a server aside: the root's id file is renamed, so a new id starts a new catalog and the old rows stay; returns what it is kept as.</summary>
    private static string SetAside(IBlobStore blobs) =>
        blobs.Exists(CheckpointLayout.RootIdFile) ? $"the rows of the old root id (its id file is kept as {RenameId(blobs)})" : "nothing: the root had no id";

    /// <summary>Renames the root's id file aside; returns its new path.</summary>
    private static string RenameId(IBlobStore blobs) => $"{blobs.Root}/{RenameAside(blobs, CheckpointLayout.RootIdFile)}";

    /// <summary>Renames <paramref name="name"/> (a file or a directory of the root) aside, kept with a time stamp; returns its new name under the root.</summary>
    private static string RenameAside(IBlobStore blobs, string name)
    {
        var kept = name + Replaced();
        blobs.Rename(name, kept, overwrite: false);
        return kept;
    }
}

namespace ActorCkpt;

/// <summary>A step directory found under the checkpoint root.</summary>
/// <param name="Step">The step.</param>
/// <param name="Commit">What its metadata says, when it has metadata (is committed); null otherwise.</param>
internal sealed record StepOnDisk(long Step, CommitOnDisk? Commit);

/// <summary>A committed step as its metadata describes it.</summary>
/// <param name="MetadataChecksum">xxHash3-64 of the metadata document, 16 hex digits.</param>
/// <param name="Files">Data files.</param>
/// <param name="Bytes">Bytes of data files.</param>
internal sealed record CommitOnDisk(string MetadataChecksum, int Files, long Bytes);

/// <summary>What a planner that just recovered its catalog must record and remove.</summary>
/// <param name="Events">Events to persist, in order.</param>
/// <param name="DirectoriesToRemove">Steps whose directories go: debris of saves that never committed, and checkpoints already recorded as deleted.</param>
/// <param name="Missing">Committed steps whose metadata is not on disk (removed by hand, or the root is not the one expected): reported, left as they are.</param>
internal sealed record Reconciliation(IReadOnlyList<ICatalogEvent> Events, IReadOnlyList<long> DirectoriesToRemove, IReadOnlyList<long> Missing);

/// <summary>
/// Brings a recovered catalog and the checkpoint root into agreement. The metadata rename is the
/// commit point, so the disk decides whether a step is committed: a save the journal saw start but
/// not end is committed when its metadata is there (the planner stopped between the rename and the
/// journal) and aborted otherwise. A step the journal recorded as deleted stays deleted. Every
/// directory without metadata is debris; no directory with metadata is ever removed unless the
/// journal says it was deleted. A committed step missing from the disk is reported, never recorded
/// as deleted: the root may just not be mounted. A memory step is never missing from the disk; its
/// metadata found on disk means its persist committed before the planner stopped.
/// </summary>
internal static class CatalogReconciler
{
    /// <summary>Reason recorded for a save that was in flight when its planner stopped.</summary>
    public const string InterruptedReason = "the planner stopped while this save was in flight";

    /// <summary>What recovery says of <paramref name="e"/> in its log line.</summary>
    public static string Describe(ICatalogEvent e) => e switch
    {
        SaveCommitted c => "committed (" + c.Note + ")",
        SaveAborted a => "aborted (" + a.Reason + ")",
        StepPersisted => "persisted (found on disk; recorded on recovery)",
        CheckpointDeleted d => "deleted (" + d.Reason + ")",
        _ => e.GetType().Name,
    };

    /// <summary>Compares <paramref name="catalog"/> with <paramref name="disk"/> (every step directory under the root).</summary>
    public static Reconciliation Reconcile(CheckpointCatalog catalog, IReadOnlyList<StepOnDisk> disk, DateTimeOffset now)
    {
        var events = new List<ICatalogEvent>();
        var remove = new List<long>();
        var missing = new List<long>();
        var onDisk = disk.ToDictionary(d => d.Step);
        foreach (var entry in catalog.Entries)
        {
            onDisk.TryGetValue(entry.Step, out var found);
            switch (entry.Status)
            {
                case CheckpointStatus.InFlight when entry.Tier == StorageTier.Memory:
                    // A memory round commits in the journal, never by a rename: interrupted, it is aborted.
                    events.Add(new SaveAborted(entry.Step, entry.SaveId, InterruptedReason, now));
                    break;
                case CheckpointStatus.InFlight when found?.Commit is { } c:
                    events.Add(new SaveCommitted(entry.Step, entry.SaveId, c.MetadataChecksum, c.Files, c.Bytes, now,
                        "committed on disk when its planner stopped; recorded on recovery"));
                    break;
                case CheckpointStatus.InFlight:
                    events.Add(new SaveAborted(entry.Step, entry.SaveId, InterruptedReason, now));
                    break;
                case CheckpointStatus.Committed when entry.Tier == StorageTier.Object && !entry.OnDisk && found is not null:
                    // Deleted locally (its copy in the object tier stays), killed before its files went:
                    // they finish going, and it is not taken for a memory step persisted.
                    remove.Add(entry.Step);
                    break;
                case CheckpointStatus.Committed when !entry.OnDisk && found?.Commit is { } persisted:
                    // A memory step whose persist committed on disk before its planner stopped: the
                    // same files and bytes, and a checksum to hold its metadata to from now on.
                    if (persisted.MetadataChecksum.Length > 0 && persisted.Files == entry.Files && persisted.Bytes == entry.Bytes)
                        events.Add(new StepPersisted(entry.Step, entry.SaveId, persisted.MetadataChecksum, now));
                    break;
                case CheckpointStatus.Committed when entry.OnDisk && found?.Commit is null:
                    // Never recorded as deleted: an unmounted or mistyped root would otherwise
                    // wipe the catalog. It stays committed; loading it fails naming the step.
                    missing.Add(entry.Step);
                    break;
                case CheckpointStatus.Deleted when found is not null:
                    remove.Add(entry.Step);
                    break;
            }
        }
        foreach (var d in disk.OrderBy(d => d.Step))
        {
            var entry = catalog[d.Step];
            if (d.Commit is null)
            {
                // Debris, unless it is a committed step's directory whose metadata went (missing, above):
                // its data files may be all that is left of it.
                if (entry is not { OnDisk: true } && entry?.Status != CheckpointStatus.Deleted) remove.Add(d.Step);
            }
            else if (entry is null || entry.Status == CheckpointStatus.Aborted)
            {
                events.Add(new SaveCommitted(d.Step, Guid.Empty, d.Commit.MetadataChecksum, d.Commit.Files, d.Commit.Bytes, now,
                    "found committed on disk; not in the journal"));
            }
        }
        return new Reconciliation(events, remove.Distinct().Order().ToArray(), missing);
    }
}

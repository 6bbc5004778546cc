namespace ActorCkpt;

/// <summary>
/// The catalog of a checkpoint root: every step a save began or a commit was found for, and where
/// it stands. Built by applying journal events in order; a pure state machine, no I/O.
/// </summary>
internal sealed class CheckpointCatalog
{
    private readonly SortedDictionary<long, CatalogEntry> _entries = new();

    /// <summary>An empty catalog.</summary>
    public CheckpointCatalog()
    {
    }

    /// <summary>The catalog a snapshot holds.</summary>
    public CheckpointCatalog(CatalogSnapshot snapshot)
    {
        foreach (var e in snapshot.Entries) _entries[e.Step] = e;
        LastOpened = snapshot.Opened;
    }

    /// <summary>The last opening of this catalog from its root (<see cref="SharedCatalogCheck"/>), or null when none was recorded.</summary>
    public CatalogOpened? LastOpened { get; private set; }

    /// <summary>Every entry, oldest step first.</summary>
    public IReadOnlyCollection<CatalogEntry> Entries => _entries.Values;

    /// <summary>The entry of <paramref name="step"/>, or null.</summary>
    public CatalogEntry? this[long step] => _entries.GetValueOrDefault(step);

    /// <summary>Committed steps (on any tier), oldest first.</summary>
    public IReadOnlyList<long> CommittedSteps => _entries.Values.Where(e => e.Status == CheckpointStatus.Committed).Select(e => e.Step).ToArray();

    /// <summary>
    /// Steps committed on disk, oldest first: what retention thins and the <c>latest</c> tracker
    /// names. A memory-only step is never among them: its copies leave by eviction, not retention.
    /// </summary>
    public IReadOnlyList<long> DiskSteps => _entries.Values.Where(e => e.OnDisk).Select(e => e.Step).ToArray();

    /// <summary>Steps whose memory copies are held (committed, not evicted), oldest first.</summary>
    public IReadOnlyList<long> MemorySteps => _entries.Values.Where(e => e.InMemory).Select(e => e.Step).ToArray();

    /// <summary>Steps with a committed copy in the object tier, oldest first.</summary>
    public IReadOnlyList<long> ObjectSteps => _entries.Values.Where(e => e.OnObject).Select(e => e.Step).ToArray();

    /// <summary>
    /// The step whose upload to the object tier a stop cut short: the newest disk step
    /// <paramref name="due"/> there, when it has no copy there; null otherwise. An older due step
    /// without a copy is not resumed: the tier's own retention removed it, or a newer step's upload went first.
    /// </summary>
    public long? UploadToResume(Func<long, bool> due) =>
        DiskSteps.Where(due).Select(s => (long?)s).LastOrDefault() is { } newest && this[newest] is { OnObject: false } ? newest : null;

    /// <summary>A snapshot of the whole catalog.</summary>
    public CatalogSnapshot ToSnapshot() => new(_entries.Values.ToArray(), LastOpened);

    /// <summary>Applies a journaled record: an event about a step, or an opening of the catalog.</summary>
    public void Apply(ICatalogRecord record)
    {
        switch (record)
        {
            case CatalogOpened opened: LastOpened = opened; break;
            case ICatalogEvent e: Apply(e); break;
            default: throw new ArgumentException($"{record.GetType().Name} is not applied to a catalog", nameof(record));
        }
    }

    /// <summary>Applies <paramref name="e"/>. Events arrive in journal order; any order of steps is fine.</summary>
    public void Apply(ICatalogEvent e)
    {
        // Events about a memory step's copies say nothing of a step the catalog does not know.
        if (e is ReplicasLost or ReplicasRestored or ReplicasAdded or StepPersisted or ReplicasEvicted or UploadDeleted && !_entries.ContainsKey(e.Step)) return;
        var old = _entries.GetValueOrDefault(e.Step)
                  ?? new CatalogEntry(e.Step, CheckpointStatus.Aborted, Guid.Empty, 0, "", null, null, 0, 0, null, null, 0);
        _entries[e.Step] = e switch
        {
            SaveStarted s => old with
            {
                Status = CheckpointStatus.InFlight, SaveId = s.SaveId, WorldSize = s.WorldSize, Directory = s.Directory,
                StartedAt = s.Time, EndedAt = null, Files = 0, Bytes = 0, MetadataChecksum = null, Reason = null, Attempts = old.Attempts + 1,
                Tier = s.Tier, Persisted = false, Memory = null,
            },
            MemoryStepCommitted m => old with
            {
                Status = CheckpointStatus.Committed, SaveId = m.SaveId, Tier = StorageTier.Memory, EndedAt = m.Time,
                Files = m.Files, Bytes = m.Bytes, MetadataChecksum = null, Reason = null, Persisted = false, Memory = m.Copies,
            },
            // Holders come and go only for the attempt the catalog records; an event about a step
            // that is not (or no longer) in memory changes nothing.
            ReplicasLost l when old.Memory is { } copies => old with { Memory = copies.WithLost(l.Host, l.Files, lost: true) },
            ReplicasRestored r when old.Memory is { } copies => old with { Memory = copies.WithLost(r.Host, r.Files, lost: false) },
            ReplicasAdded a when old.Memory is { } copies => old with { Memory = copies.WithAdded(a.Host, a.Files) },
            ReplicasLost or ReplicasRestored or ReplicasAdded => old,
            // A persist that ends after the step was deleted does not bring it back.
            StepPersisted p when old.Status == CheckpointStatus.Committed && p.SaveId == old.SaveId =>
                old with { Persisted = true, MetadataChecksum = p.MetadataChecksum },
            StepPersisted => old,
            ReplicasEvicted v when old.Memory is { } copies => old.Persisted || old.Status != CheckpointStatus.Committed
                ? old with { Memory = copies with { Evicted = true } }
                : old with { Memory = copies with { Evicted = true }, Status = CheckpointStatus.Deleted, EndedAt = v.Time, Reason = v.Reason },
            ReplicasEvicted => old,
            // A commit by rename is a disk step, whatever the attempt before it was.
            SaveCommitted c => old with
            {
                Status = CheckpointStatus.Committed, SaveId = c.SaveId == Guid.Empty ? old.SaveId : c.SaveId, EndedAt = c.Time,
                Files = c.Files, Bytes = c.Bytes, MetadataChecksum = c.MetadataChecksum, Reason = c.Note,
                Tier = StorageTier.Disk, Persisted = false, Memory = null,
            },
            // An abort of another attempt (a stale one, or one refused before it began writing)
            // never overrides a commit or a deletion.
            SaveAborted a when old.Status is CheckpointStatus.Committed or CheckpointStatus.Deleted && a.SaveId != old.SaveId => old,
            SaveAborted a => old with { Status = CheckpointStatus.Aborted, SaveId = a.SaveId == Guid.Empty ? old.SaveId : a.SaveId, EndedAt = a.Time, Reason = a.Reason },
            // The object copy of the attempt the catalog records (or one found there); one of another attempt changes nothing.
            StepUploaded u when old.Status == CheckpointStatus.Committed && (u.SaveId == old.SaveId || u.SaveId == Guid.Empty) =>
                old with { Uploaded = u.Root, UploadedChecksum = u.MetadataChecksum },
            // Deleted locally while its upload ran, or a copy found in the object tier of a step not committed here (its
            // disk and catalog were lost, or it was deleted before): a step committed in the object tier only.
            StepUploaded u when old.Status == CheckpointStatus.Deleted && u.SaveId == old.SaveId
                                || old.Status is CheckpointStatus.Aborted or CheckpointStatus.Deleted && u.SaveId == Guid.Empty => old with
            {
                Status = CheckpointStatus.Committed, EndedAt = u.Time, MetadataChecksum = u.MetadataChecksum, Reason = null, Files = u.Files, Bytes = u.Bytes,
                Tier = StorageTier.Object, Persisted = false, Uploaded = u.Root, UploadedChecksum = u.MetadataChecksum,
                Memory = old.Memory is { } copies ? copies with { Evicted = true } : null,
            },
            StepUploaded => old,
            // The object copy goes; a step that was only there is deleted with it.
            UploadDeleted d when old.Uploaded is not null && old.Status == CheckpointStatus.Committed && old.Tier == StorageTier.Object => old with
            {
                Status = CheckpointStatus.Deleted, EndedAt = d.Time, Reason = d.Reason, Uploaded = null, UploadedChecksum = null,
            },
            UploadDeleted when old.Uploaded is not null => old with { Uploaded = null, UploadedChecksum = null },
            UploadDeleted => old,
            // Deleting a step with an object copy deletes the local tiers only: the step stays committed in the object tier.
            CheckpointDeleted d when old.OnObject => old with
            {
                Tier = StorageTier.Object, Persisted = false, EndedAt = d.Time, Reason = d.Reason, Memory = old.Memory is { } copies ? copies with { Evicted = true } : null,
            },
            CheckpointDeleted d => old with
            {
                Status = CheckpointStatus.Deleted, EndedAt = d.Time, Reason = d.Reason, Memory = old.Memory is { } copies ? copies with { Evicted = true } : null,
            },
            _ => throw new ArgumentException($"unknown catalog event {e.GetType().Name}", nameof(e)),
        };
    }
}

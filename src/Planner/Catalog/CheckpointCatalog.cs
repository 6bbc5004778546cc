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
    }

    /// <summary>Every entry, oldest step first.</summary>
    public IReadOnlyCollection<CatalogEntry> Entries => _entries.Values;

    /// <summary>The entry of <paramref name="step"/>, or null.</summary>
    public CatalogEntry? this[long step] => _entries.GetValueOrDefault(step);

    /// <summary>Committed steps, oldest first.</summary>
    public IReadOnlyList<long> CommittedSteps => _entries.Values.Where(e => e.Status == CheckpointStatus.Committed).Select(e => e.Step).ToArray();

    /// <summary>A snapshot of the whole catalog.</summary>
    public CatalogSnapshot ToSnapshot() => new(_entries.Values.ToArray());

    /// <summary>Applies <paramref name="e"/>. Events arrive in journal order; any order of steps is fine.</summary>
    public void Apply(ICatalogEvent e)
    {
        var old = _entries.GetValueOrDefault(e.Step)
                  ?? new CatalogEntry(e.Step, CheckpointStatus.Aborted, Guid.Empty, 0, "", null, null, 0, 0, null, null, 0);
        _entries[e.Step] = e switch
        {
            SaveStarted s => old with
            {
                Status = CheckpointStatus.InFlight, SaveId = s.SaveId, WorldSize = s.WorldSize, Directory = s.Directory,
                StartedAt = s.Time, EndedAt = null, Files = 0, Bytes = 0, MetadataChecksum = null, Reason = null, Attempts = old.Attempts + 1,
            },
            SaveCommitted c => old with
            {
                Status = CheckpointStatus.Committed, SaveId = c.SaveId == Guid.Empty ? old.SaveId : c.SaveId, EndedAt = c.Time,
                Files = c.Files, Bytes = c.Bytes, MetadataChecksum = c.MetadataChecksum, Reason = c.Note,
            },
            // An abort of another attempt (a stale one, or one refused before it began writing)
            // never overrides a commit or a deletion.
            SaveAborted a when old.Status is CheckpointStatus.Committed or CheckpointStatus.Deleted && a.SaveId != old.SaveId => old,
            SaveAborted a => old with { Status = CheckpointStatus.Aborted, SaveId = a.SaveId == Guid.Empty ? old.SaveId : a.SaveId, EndedAt = a.Time, Reason = a.Reason },
            CheckpointDeleted d => old with { Status = CheckpointStatus.Deleted, EndedAt = d.Time, Reason = d.Reason },
            _ => throw new ArgumentException($"unknown catalog event {e.GetType().Name}", nameof(e)),
        };
    }
}

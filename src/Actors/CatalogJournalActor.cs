using Akka.Actor;
using Akka.Event;
using Akka.Persistence;

namespace ActorCkpt;

/// <summary>
/// An actor over the catalog journal: it recovers the catalog (snapshot, then events) from
/// <see cref="ActorCkptConfig.JournalPluginId"/> under its persistence id and answers
/// <see cref="ReadCatalog"/>. The planner, which owns the catalog, journals with <see cref="Record"/>
/// (every <c>snapshotEvery</c> events a snapshot, the older ones deleted); a reader never journals.
/// </summary>
internal abstract class CatalogJournalActor : ReceivePersistentActor
{
    private readonly int _snapshotEvery;
    private int _eventsSinceSnapshot;
    // Journal writes asked for and not yet confirmed: events up to LastSequenceNr + this may be in the journal.
    private long _pending;

    /// <summary>Recovers the catalog journaled as <paramref name="persistenceId"/>; snapshots every <paramref name="snapshotEvery"/> recorded events.</summary>
    protected CatalogJournalActor(string persistenceId, int snapshotEvery)
    {
        (PersistenceId, _snapshotEvery) = (persistenceId, snapshotEvery);
        (JournalPluginId, SnapshotPluginId) = (ActorCkptConfig.JournalPluginId, ActorCkptConfig.SnapshotPluginId);
        CatalogName = ActorCkptConfig.CatalogName(Context.System.Settings.Config);
        // Replayed events count towards the next snapshot: a job restarted more often than every
        // snapshot-every events would otherwise never take one, and replay its whole journal at each start.
        Recover<SnapshotOffer>(o =>
        {
            Catalog = new CheckpointCatalog((CatalogSnapshot)o.Snapshot);
            _eventsSinceSnapshot = 0;
        });
        Recover<ICatalogRecord>(e =>
        {
            Catalog.Apply(e);
            _eventsSinceSnapshot++;
        });
        Command<ReadCatalog>(AnswerReadCatalog);
        Command<SaveSnapshotSuccess>(m => DeleteSnapshots(new SnapshotSelectionCriteria(m.Metadata.SequenceNr - 1)));
        Command<SaveSnapshotFailure>(m => Context.GetLogger().Warning("Snapshot of the catalog failed (the journal still has every event): {0}", m.Cause.Message));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(m => Context.GetLogger().Warning("Old catalog snapshots could not be deleted: {0}", m.Cause.Message));
    }

    /// <inheritdoc />
    public sealed override string PersistenceId { get; }

    /// <summary>Which catalog this is, as its errors name it (<see cref="ActorCkptConfig.CatalogName"/>).</summary>
    protected string CatalogName { get; }

    /// <summary>Answers a read of the catalog with every entry as it stands.</summary>
    protected virtual void AnswerReadCatalog(ReadCatalog m) => Sender.Tell(new CatalogRead(Catalog.Entries.ToArray()));

    /// <inheritdoc />
    /// <remarks>A rejected write is not in flight any more (its handler never runs).</remarks>
    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        _pending--;
        base.OnPersistRejected(cause, @event, sequenceNr);
    }

    /// <summary>The catalog as recovered and recorded so far.</summary>
    protected CheckpointCatalog Catalog { get; private set; } = new();

    /// <summary>
    /// Called before each journal write with the last event the journal may hold once this write is asked
    /// for; false stops the write (the actor is stopping). True, and nothing else, by default (see <see cref="SharedCatalogCheck"/>).
    /// </summary>
    protected virtual bool BeforeRecord(long ahead) => true;

    /// <summary>Journals <paramref name="e"/>, applies it to the catalog, snapshots when due, then runs <paramref name="then"/>.</summary>
    protected void Record<TEvent>(TEvent e, Action<TEvent>? then = null) where TEvent : ICatalogRecord
    {
        if (!BeforeRecord(LastSequenceNr + _pending + 1)) return;
        _pending++;
        Persist(e, persisted =>
        {
            _pending--;
            Catalog.Apply(persisted);
            if (++_eventsSinceSnapshot >= _snapshotEvery)
            {
                _eventsSinceSnapshot = 0;
                SaveSnapshot(Catalog.ToSnapshot());
            }
            then?.Invoke(persisted);
        });
    }
}

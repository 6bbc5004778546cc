using Akka.Actor;
using Akka.Persistence;

namespace ActorCkpt;

/// <summary>
/// Reads a catalog without owning it: recovers the planner's journal (same persistence id) and
/// answers <see cref="ReadCatalog"/>; it never persists, reconciles or removes anything, so it is
/// safe beside a running planner. Used by <c>actorckpt ls</c>.
/// </summary>
internal sealed class CatalogReaderActor : ReceivePersistentActor
{
    private CheckpointCatalog _catalog = new();

    /// <summary>Creates the reader of the catalog journaled as <paramref name="persistenceId"/>; use <see cref="Props"/>.</summary>
    public CatalogReaderActor(string persistenceId)
    {
        PersistenceId = persistenceId;
        JournalPluginId = ActorCkptConfig.JournalPluginId;
        SnapshotPluginId = ActorCkptConfig.SnapshotPluginId;
        Recover<SnapshotOffer>(o => _catalog = new CheckpointCatalog((CatalogSnapshot)o.Snapshot));
        Recover<ICatalogEvent>(e => _catalog.Apply(e));
        Command<ReadCatalog>(_ => Sender.Tell(new CatalogRead(_catalog.Entries.ToArray())));
    }

    /// <inheritdoc />
    public override string PersistenceId { get; }

    /// <summary>Props of a reader of the catalog journaled as <paramref name="persistenceId"/>.</summary>
    public static Props Props(string persistenceId) => Akka.Actor.Props.Create(() => new CatalogReaderActor(persistenceId));
}

using Akka.Actor;

namespace ActorCkpt;

/// <summary>
/// Reads a catalog without owning it: recovers the planner's journal (same persistence id) and
/// answers <see cref="ReadCatalog"/> and <see cref="ReadJournal"/>; it never persists, reconciles or removes anything, so it is
/// safe beside a running planner. Used by the commands that read a catalog not kept in a SQLite file of the default layout.
/// </summary>
internal sealed class CatalogReaderActor : CatalogJournalActor
{
    /// <summary>A reader of the catalog journaled as <paramref name="persistenceId"/>.</summary>
    public CatalogReaderActor(string persistenceId) : base(persistenceId, int.MaxValue) =>
        Command<ReadJournal>(_ => Sender.Tell(new JournalRead(Catalog.Entries.ToArray(), LastSequenceNr, Catalog.LastOpened)));

    /// <summary>Props of a reader of the catalog journaled as <paramref name="persistenceId"/>.</summary>
    public static Props Props(string persistenceId) => Akka.Actor.Props.Create(() => new CatalogReaderActor(persistenceId));
}

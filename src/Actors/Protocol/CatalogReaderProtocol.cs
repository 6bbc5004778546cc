namespace ActorCkpt;

/// <summary>
/// Asks a <see cref="CatalogReaderActor"/> for the catalog as recovered and where its journal ends; answered
/// with <see cref="JournalRead"/>. Local only: the reader runs in the reading command's own actor system.
/// </summary>
internal sealed record ReadJournal
{
    /// <summary>The one instance.</summary>
    public static readonly ReadJournal Instance = new();
}

/// <summary>A catalog as recovered from its journal, with what <see cref="SharedCatalogCheck"/> needs to tell whose it is.</summary>
/// <param name="Entries">Every step a save began, oldest first.</param>
/// <param name="LastEvent">The journal's last event number (0 when it holds none).</param>
/// <param name="LastOpened">Where and when a planner last opened the catalog, or null when none recorded it.</param>
internal sealed record JournalRead(IReadOnlyList<CatalogEntry> Entries, long LastEvent, CatalogOpened? LastOpened);

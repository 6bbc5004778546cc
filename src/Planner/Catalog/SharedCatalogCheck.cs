using System.Globalization;

namespace ActorCkpt;

/// <summary>
/// Whether a root may open a catalog kept outside it (on PostgreSQL, or in a SQLite file elsewhere).
/// Such a catalog is keyed by the root's id, and a copy of the root (<c>cp -a</c>, a backup restored)
/// carries that id: it would share the original's catalog, and the retention of either would delete
/// the other's committed steps. So before each journal write the planner marks in its root's
/// <c>catalog.mark</c> the last event the journal may then hold (writes in flight included; a mark
/// never goes down, so a planner after another keeps what that one's late writes may add). A copy holds the mark of the moment it was
/// made; once the original has journaled anything since (its next save, a deletion), the catalog
/// has gone past the copy's mark, and the copy is refused before it settles or removes anything.
/// The root the catalog was last opened from always holds a mark at or past the journal's end, moved
/// or not. A catalog that recorded no opening (<see cref="CatalogOpened"/>: new, or an older build's)
/// opens from any root. Pure: the planner reads the mark and the journal's end, and asks.
/// </summary>
internal static class SharedCatalogCheck
{
    /// <summary>
    /// One line saying why <paramref name="root"/>, marked up to event <paramref name="mark"/> (null when it
    /// has no mark), must not open the catalog <paramref name="catalogName"/> whose journal ends at event
    /// <paramref name="lastEvent"/> and was last opened as <paramref name="last"/>; null when it may. The advice
    /// names <paramref name="configFile"/>, the file that configures the catalog, when known (<see cref="Rebuild"/>).
    /// </summary>
    public static string? Problem(string root, long? mark, long lastEvent, CatalogOpened? last, string catalogName, string? configFile)
    {
        if (last is null || lastEvent <= mark) return null;
        var where = last.Root == root ? "this root's path" : $"'{last.Root}'";
        var seen = mark is null ? "has no catalog.mark" : $"marked it up to event {mark}";
        return string.Create(CultureInfo.InvariantCulture,
            $"checkpoint root '{root}' shares its catalog ({catalogName}) with another root: the catalog's journal went on to event {lastEvent} " +
            $"without this root, which {seen} (last opened from {where} at {last.Time.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z), so it is a copy of that root " +
            $"or a restored backup (the retention of one would delete the other's steps). Give it a catalog of its own with: {Rebuild(root, configFile)}");
    }

    /// <summary>
    /// The command that gives <paramref name="root"/> a catalog of its own: with <paramref name="configFile"/>, the file
    /// that configures the catalog, as it runs; without, "FILE" in its place, and what FILE is.
    /// </summary>
    public static string Rebuild(string root, string? configFile) =>
        $"actorckpt catalog rebuild {ShellWord(root)} --config " + (configFile is null ? "FILE, FILE being the configuration that names this catalog" : ShellWord(configFile));

    /// <summary><paramref name="text"/> as one word of a POSIX shell: as it is when it holds nothing the shell reads, otherwise in single quotes.</summary>
    public static string ShellWord(string text) =>
        text.Length > 0 && text.All(c => char.IsAsciiLetterOrDigit(c) || "_./:@%+=,-".Contains(c)) ? text : "'" + text.Replace("'", "'\\''") + "'";
}

using System.Globalization;

namespace ActorCkpt;

/// <summary>What a root's <c>catalog.opened</c> file holds: the token of the last opening of its catalog, and the one before it.</summary>
/// <param name="Token">The opening the planner began by writing this file.</param>
/// <param name="Previous">The catalog's last opening when it did (null for the first).</param>
internal sealed record OpeningMarker(Guid Token, Guid? Previous);

/// <summary>
/// Whether a root may open a catalog kept outside it (on PostgreSQL, or in a SQLite file elsewhere).
/// Such a catalog is keyed by the root's id, and a copy of the root (<c>cp -a</c>, a restored
/// backup) carries that id: it would share the original's catalog, and the retention of either
/// would delete the other's committed steps. Each opening writes a new token to the root's file,
/// naming the catalog's last opening beside it, and then journals it (<see cref="CatalogOpened"/>).
/// The root the catalog was last opened from holds the token the catalog recorded last (or the
/// one after it, when its planner stopped between the file and the journal); a copy holds an older
/// one, or none, once either side has opened it again. A root moved whole holds the same file, so
/// it opens as before. Of two copies the first to open keeps the catalog; the other is refused.
/// Pure: the planner reads the file and the catalog, and asks.
/// </summary>
internal static class SharedCatalogCheck
{
    /// <summary>
    /// One line saying why <paramref name="root"/>, whose file holds <paramref name="marker"/> (null when
    /// it has none), must not open the catalog <paramref name="catalogName"/> last opened as
    /// <paramref name="last"/>; null when it may (also when the catalog recorded no opening: a new
    /// catalog, or one kept before openings were recorded).
    /// </summary>
    public static string? Problem(string root, OpeningMarker? marker, CatalogOpened? last, string catalogName)
    {
        if (last is null) return null;
        if (marker is not null && (marker.Token == last.Token || marker.Previous == last.Token)) return null;
        var where = last.Root == root ? "this root's path" : $"'{last.Root}'";
        var file = marker is null ? "has none" : "names an older opening";
        return string.Create(CultureInfo.InvariantCulture,
            $"checkpoint root '{root}' shares its catalog ({catalogName}) with another root: the catalog was last opened from {where} at " +
            $"{last.Time.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z, and this root's catalog.opened {file}, so it is a copy of that root or a restored backup " +
            $"(the retention of one would delete the other's steps). Give it a catalog of its own with: actorckpt catalog rebuild '{root}'");
    }
}

using Akka.Configuration;
using Microsoft.Data.Sqlite;

namespace ActorCkpt;

/// <summary>
/// The catalog's SQLite file must be a database file of its own: a symbolic link would put the
/// journal wherever the link points (outside the root, or into another job's catalog), and a
/// directory or special file is no database. Either is refused before the journal opens it.
/// </summary>
internal static class CatalogFile
{
    /// <summary>Throws <see cref="ConfigurationException"/> naming the file when <paramref name="sqlite"/>'s data source is a link or not a file.</summary>
    public static void Check(SqliteConnectionStringBuilder sqlite)
    {
        var path = sqlite.DataSource;
        if (sqlite.Mode == SqliteOpenMode.Memory || path is "" or ":memory:") return;
        var info = new FileInfo(path);
        if (info.LinkTarget is { } target)
            throw new ConfigurationException($"the catalog '{path}' is a symbolic link to '{target}'; ActorCkpt does not follow it: put the database file itself there");
        if (Directory.Exists(path))
            throw new ConfigurationException($"the catalog '{path}' is a directory, not a database file");
    }
}

using Akka.Configuration;
using Microsoft.Data.Sqlite;

namespace ActorCkpt;

/// <summary>
/// Reads a catalog straight from its SQLite journal file, read-only and without an actor system:
/// the snapshot and the events after it, recovered as <see cref="CatalogJournalActor"/> recovers
/// them. A command that only reads the catalog (verify, export, inspect, ls) then starts in
/// milliseconds rather than paying for an actor system and Akka.Persistence.Sql's start-up
/// (about 2.5 s). Only Akka.Persistence.Sql's default table layout is read this way; a catalog
/// configured otherwise (<see cref="Applies"/> false) is read through the journal plugin.
/// </summary>
internal static class SqliteCatalogJournal
{
    /// <summary>
    /// True when <paramref name="config"/> (with the catalog plugins set, <see cref="ActorCkptConfig.WithCatalog"/>)
    /// keeps the catalog in SQLite under Akka.Persistence.Sql's default tables and columns.
    /// </summary>
    public static bool Applies(Config config) =>
        config.GetString(ActorCkptConfig.JournalPluginId + ".provider-name") == "SQLite.MS"
        && Default(config, ActorCkptConfig.JournalPluginId, "journal") && Default(config, ActorCkptConfig.SnapshotPluginId, "snapshot");

    // A key not set under the plugin's path takes Akka.Persistence.Sql's own default.
    private static bool Default(Config config, string plugin, string table) =>
        config.GetString(plugin + ".table-mapping") is null or "" or "default"
        && (config.GetString($"{plugin}.default.{table}.table-name") is null or "" || config.GetString($"{plugin}.default.{table}.table-name") == table)
        && string.IsNullOrEmpty(config.GetString(plugin + ".default.schema-name"))
        && !config.HasPath($"{plugin}.default.{table}.columns");

    /// <summary>
    /// The catalog journaled as <paramref name="persistenceId"/> in the SQLite database
    /// of <paramref name="connectionString"/>, opened read-only (never created, never written: safe
    /// beside a running planner). The one exception: a rollback journal that a process killed
    /// mid-write left behind (a hot journal), which a read-only open cannot roll back, is rolled back
    /// as the next writer would, through a read-write open; the committed content is unchanged.
    /// </summary>
    public static JournalRead Read(string connectionString, string persistenceId)
    {
        // A writer holds the lock for milliseconds: 5 s a statement (not SQLite's 30) ends a wait on one that holds it for good.
        var file = new SqliteConnectionStringBuilder(connectionString) { Mode = SqliteOpenMode.ReadOnly, Pooling = false, DefaultTimeout = 5 };
        try
        {
            return Read(file, persistenceId);
        }
        catch (SqliteException e) when (e.SqliteExtendedErrorCode is ReadOnlyRollback or ReadOnlyRecovery)
        {
            // A hot journal exists only while no process holds the database's lock: no planner is writing.
            return Read(new SqliteConnectionStringBuilder(file.ToString()) { Mode = SqliteOpenMode.ReadWrite }, persistenceId);
        }
    }

    // SQLITE_READONLY_ROLLBACK and SQLITE_READONLY_RECOVERY: a read-only open met a journal that needs a writer.
    private const int ReadOnlyRollback = 8 | (3 << 8), ReadOnlyRecovery = 8 | (1 << 8);

    private static JournalRead Read(SqliteConnectionStringBuilder file, string persistenceId)
    {
        using var connection = new SqliteConnection(file.ToString());
        connection.Open();
        // Akka.Persistence.Sql creates its tables on first use: a catalog file with none holds nothing yet.
        if (!HasTable(connection, "journal")) return new JournalRead(Array.Empty<CatalogEntry>(), 0, null);

        var catalog = new CheckpointCatalog();
        long after = 0;
        if (HasTable(connection, "snapshot"))
        {
            using var snapshot = Query(connection,
                "SELECT sequence_number, snapshot, manifest FROM snapshot WHERE persistence_id = $id ORDER BY sequence_number DESC LIMIT 1", persistenceId);
            using var row = snapshot.ExecuteReader();
            if (row.Read())
            {
                after = row.GetInt64(0);
                catalog = new CheckpointCatalog((CatalogSnapshot)CatalogSerializer.Decode((byte[])row.GetValue(1), row.GetString(2)));
            }
        }
        using var events = Query(connection,
            "SELECT message, manifest FROM journal WHERE persistence_id = $id AND sequence_number > $after AND deleted = 0 ORDER BY sequence_number", persistenceId);
        events.Parameters.AddWithValue("$after", after);
        using (var rows = events.ExecuteReader())
        {
            while (rows.Read()) catalog.Apply((ICatalogRecord)CatalogSerializer.Decode((byte[])rows.GetValue(0), rows.GetString(1)));
        }
        // The journal's end as its recovery finds it: rows marked deleted (behind a snapshot) keep their numbers.
        using var last = Query(connection, "SELECT max(sequence_number) FROM journal WHERE persistence_id = $id", persistenceId);
        var lastEvent = Math.Max(after, last.ExecuteScalar() is long n ? n : 0);
        return new JournalRead(catalog.Entries.ToArray(), lastEvent, catalog.LastOpened);
    }

    private static bool HasTable(SqliteConnection connection, string table)
    {
        using var command = Query(connection, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = $id", table);
        return Convert.ToInt64(command.ExecuteScalar()) > 0;
    }

    private static SqliteCommand Query(SqliteConnection connection, string sql, string id)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$id", id);
        return command;
    }
}

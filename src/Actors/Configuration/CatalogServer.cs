using Akka.Configuration;
using Npgsql;

namespace ActorCkpt;

/// <summary>
/// A PostgreSQL catalog must be reachable when the node that journals into it starts: otherwise the
/// planner's recovery timed out try after try (30 s each), the node's start ended in a bare ask
/// timeout after two minutes, and the cause, under thousands of logged stack traces, was never the
/// last line. One connection is opened and closed at once; what refuses it is the one line.
/// </summary>
internal static class CatalogServer
{
    /// <summary>The longest the check waits for the server (the connection string's own timeout, when shorter).</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Throws <see cref="ConfigurationException"/> naming the server and the cause when no connection to
    /// <paramref name="connectionString"/> opens (a port out of range among the causes); asked by every node
    /// that journals, by the commands that read the catalog, and by a rebuild before it changes anything;
    /// also when the role may not start the journal, which the readers start too (<see cref="MissingRight"/>).
    /// </summary>
    public static void Verify(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        // Npgsql's 0 is no limit at all: a paused server would hold the start for ever.
        builder.Timeout = builder.Timeout is > 0 and var given && given < (int)ConnectTimeout.TotalSeconds ? given : (int)ConnectTimeout.TotalSeconds;
        builder.Pooling = false;
        var server = $"the catalog's PostgreSQL server {builder.Host}:{builder.Port} (database '{builder.Database}')";
        NpgsqlConnection? connection = null;
        try
        {
            connection = new NpgsqlConnection(builder.ToString());
            connection.Open();
        }
        catch (Exception e) when (e is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException or InvalidOperationException or ArgumentOutOfRangeException)
        {
            connection?.Dispose();
            var cause = e.InnerException is System.Net.Sockets.SocketException socket ? $"{e.Message} ({socket.Message})" : e.Message;
            throw new ConfigurationException($"{server} cannot be reached: {cause.ReplaceLineEndings(" ")} (actorckpt.catalog.connection-string)", e);
        }
        using var opened = connection;
        string? missing;
        try
        {
            missing = MissingRight(connection);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            throw new ConfigurationException($"{server}: the role's rights could not be checked: {e.Message.ReplaceLineEndings(" ")} (actorckpt.catalog.connection-string)", e);
        }
        if (missing is not null) throw new ConfigurationException($"{server} {missing} (actorckpt.catalog.connection-string)");
    }

    /// <summary>The tables the journal and snapshot store create (Akka.Persistence.Sql's default table mapping, which ActorCkpt keeps).</summary>
    private static readonly string[] Tables = ["journal", "snapshot", "tags"];

    /// <summary>
    /// What the connected role lacks to start the journal ("lets role 'R' connect, but …"), or null. Akka.Persistence.Sql's start creates
    /// its tables if they are missing and checks their indexes, which takes CREATE on the schema even once
    /// they exist, and owning each (membership of its owner's role): with less, every recovery of the
    /// planner timed out after 30 s, its cause ("42501: permission denied") only in the logged errors.
    /// </summary>
    private static string? MissingRight(NpgsqlConnection connection)
    {
        // Names as SQL takes them (quote_ident quotes keywords and mixed case), so the advice runs as printed;
        // the tables are looked up in the schema the journal creates them in, not wherever the search_path finds one.
        using (var schema = new NpgsqlCommand(
                   "SELECT current_user, quote_ident(current_user), current_schema(), quote_ident(current_schema()), " +
                   "current_schema() IS NOT NULL AND has_schema_privilege(current_schema(), 'CREATE')", connection))
        using (var row = schema.ExecuteReader())
        {
            row.Read();
            var (role, roleSql) = (row.GetString(0), row.GetString(1));
            if (row.IsDBNull(2)) return $"lets role '{role}' connect, but no schema on its search_path exists to hold the catalog's tables";
            if (!row.GetBoolean(4))
                return $"lets role '{role}' connect, but not create tables in schema '{row.GetString(2)}', which the journal's start needs even once its tables exist " +
                       $"(GRANT CREATE ON SCHEMA {row.GetString(3)} TO {roleSql})";
        }
        using var owners = new NpgsqlCommand(
            "SELECT t, quote_ident(current_schema()) || '.' || quote_ident(t), pg_get_userbyid(c.relowner), pg_has_role(c.relowner, 'USAGE'), " +
            "current_user, quote_ident(current_user) FROM unnest(@tables) AS t JOIN pg_class c ON c.oid = to_regclass(quote_ident(current_schema()) || '.' || quote_ident(t)) ORDER BY t",
            connection);
        owners.Parameters.AddWithValue("tables", Tables);
        using var rows = owners.ExecuteReader();
        while (rows.Read())
        {
            if (rows.GetBoolean(3)) continue;
            return $"lets role '{rows.GetString(4)}' connect, but table {rows.GetString(1)} belongs to role '{rows.GetString(2)}', and the journal's start must own its tables " +
                   $"(ALTER TABLE {rows.GetString(1)} OWNER TO {rows.GetString(5)})";
        }
        return null;
    }

    /// <summary>
    /// <see cref="Verify"/> when <paramref name="catalog"/> (<see cref="ActorCkptConfig.CatalogConnection"/>) is on a
    /// PostgreSQL server; nothing for a SQLite file, which the readers check themselves.
    /// </summary>
    public static void VerifyWhenServer((string Provider, string ConnectionString) catalog)
    {
        if (catalog.Provider.StartsWith("PostgreSQL", StringComparison.Ordinal)) Verify(catalog.ConnectionString);
    }
}

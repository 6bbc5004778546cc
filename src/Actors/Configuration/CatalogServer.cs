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
    /// that journals, by the commands that read the catalog, and by a rebuild before it changes anything.
    /// </summary>
    public static void Verify(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        // Npgsql's 0 is no limit at all: a paused server would hold the start for ever.
        builder.Timeout = builder.Timeout is > 0 and var given && given < (int)ConnectTimeout.TotalSeconds ? given : (int)ConnectTimeout.TotalSeconds;
        builder.Pooling = false;
        try
        {
            using var connection = new NpgsqlConnection(builder.ToString());
            connection.Open();
        }
        catch (Exception e) when (e is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException or InvalidOperationException or ArgumentOutOfRangeException)
        {
            var cause = e.InnerException is System.Net.Sockets.SocketException socket ? $"{e.Message} ({socket.Message})" : e.Message;
            throw new ConfigurationException($"the catalog's PostgreSQL server {builder.Host}:{builder.Port} (database '{builder.Database}') cannot be reached: " +
                                             $"{cause.ReplaceLineEndings(" ")} (actorckpt.catalog.connection-string)", e);
        }
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

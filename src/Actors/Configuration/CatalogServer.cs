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

    /// <summary>Throws <see cref="ConfigurationException"/> naming the server and the cause when no connection to <paramref name="connectionString"/> opens.</summary>
    public static void Verify(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        builder.Timeout = Math.Min(builder.Timeout, (int)ConnectTimeout.TotalSeconds);
        builder.Pooling = false;
        try
        {
            using var connection = new NpgsqlConnection(builder.ToString());
            connection.Open();
        }
        catch (Exception e) when (e is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException or InvalidOperationException)
        {
            var cause = e.InnerException is System.Net.Sockets.SocketException socket ? $"{e.Message} ({socket.Message})" : e.Message;
            throw new ConfigurationException($"the catalog's PostgreSQL server {builder.Host}:{builder.Port} (database '{builder.Database}') cannot be reached: " +
                                             $"{cause.ReplaceLineEndings(" ")} (actorckpt.catalog.connection-string)", e);
        }
    }
}

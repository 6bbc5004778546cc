using System.Text;
using System.Text.Json;

namespace ActorCkpt.Hosting;

/// <summary>
/// Where the planner journals the catalog of checkpoints (<see cref="ActorCkptOptions.Catalog"/>;
/// the <c>actorckpt.catalog</c> section). The journal runs on Akka.Persistence.Sql under ActorCkpt's
/// own plugin ids, so the host's default journal is neither used nor changed. Unset properties
/// leave the configuration's value (by default: SQLite, the file <c>catalog.db</c> under the root).
/// </summary>
public sealed class ActorCkptCatalogOptions
{
    /// <summary>The database: <see cref="CatalogProvider.Sqlite"/> (a file, no server) or <see cref="CatalogProvider.PostgreSql"/>.</summary>
    public CatalogProvider? Provider { get; set; }

    /// <summary>
    /// With PostgreSQL, the Npgsql connection string of the server (required). With SQLite, another
    /// file than <c>&lt;root&gt;/catalog.db</c>: <c>Data Source=/path/catalog.db</c> (always unpooled, so
    /// that the file is closed whenever the journal is idle).
    /// </summary>
    public string? ConnectionString { get; set; }

    internal string ToHocon()
    {
        var hocon = new StringBuilder();
        if (Provider is { } provider)
            hocon.Append("actorckpt.catalog.provider = ").AppendLine(provider switch
            {
                CatalogProvider.Sqlite => "sqlite",
                CatalogProvider.PostgreSql => "postgres",
                _ => throw new ArgumentException($"ActorCkptOptions.Catalog.Provider = {(int)provider}: accepted values are Sqlite, PostgreSql"),
            });
        if (ConnectionString is not null)
            hocon.Append("actorckpt.catalog.connection-string = ").AppendLine(JsonSerializer.Serialize(ConnectionString));
        return hocon.ToString();
    }
}

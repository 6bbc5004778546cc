using System.Text.Json;
using Akka.Cluster.Tools.Singleton;
using Akka.Configuration;
using Akka.Persistence.Sql;
using Akka.Streams;

namespace ActorCkpt;

/// <summary>The embedded configuration files (hocon/reference.conf, hocon/cluster.conf) and helpers to build a node's configuration.</summary>
internal static class ActorCkptConfig
{
    // The singleton's and the streams' own defaults come along so that their serializers (singleton
    // hand-over, StreamRef protocol) are bound from the start, as remote nodes need.
    private static readonly Lazy<Config> LazyDefaults = new(() => Embedded("ActorCkpt.reference.conf")
        .WithFallback(ClusterSingleton.DefaultConfig())
        .WithFallback(ActorMaterializer.DefaultConfig()));

    private static readonly Lazy<Config> LazyCluster = new(() => Embedded("ActorCkpt.cluster.conf"));

    /// <summary>The defaults of every <c>actorckpt</c> key, and the serializer bindings.</summary>
    public static Config Defaults => LazyDefaults.Value;

    /// <summary>hocon/cluster.conf: cluster provider on loopback, roles, split-brain resolver, planner singleton.</summary>
    public static Config Cluster => LazyCluster.Value;

    /// <summary>The journal plugin the planner keeps its catalog in.</summary>
    public const string JournalPluginId = "akka.persistence.journal.sql";

    /// <summary>The snapshot store plugin of the catalog.</summary>
    public const string SnapshotPluginId = "akka.persistence.snapshot-store.sql";

    /// <summary>
    /// <paramref name="config"/> with the catalog's persistence plugins configured from its
    /// <c>actorckpt.catalog</c> section: Akka.Persistence.Sql on SQLite (a file under
    /// <paramref name="root"/>, the checkpoint directory) or on PostgreSQL. ActorCkpt owns the
    /// settings of those two plugin paths; the host's own default journal is left as it is.
    /// Throws <see cref="ConfigurationException"/> naming the key that is wrong.
    /// </summary>
    public static Config WithCatalog(Config config, string root)
    {
        var c = config.WithFallback(Defaults).GetConfig("actorckpt.catalog");
        var connection = c.GetString("connection-string") ?? "";
        string provider;
        switch (c.GetString("provider"))
        {
            case "sqlite":
                provider = "SQLite.MS";
                if (connection.Length == 0)
                {
                    if (string.IsNullOrWhiteSpace(root)) throw new ConfigurationException("the catalog needs a checkpoint root for its SQLite file (actorckpt.root)");
                    // Unpooled: the file is closed whenever the journal is idle, so nothing holds the
                    // checkpoint root open once the actor system is gone.
                    connection = $"Data Source={Path.Combine(Path.GetFullPath(root), CheckpointLayout.CatalogFile)};Pooling=False";
                }
                break;
            case "postgres":
                provider = "PostgreSQL.15";
                if (connection.Length == 0)
                    throw new ConfigurationException("actorckpt.catalog.connection-string must name the PostgreSQL server when actorckpt.catalog.provider = postgres");
                break;
            case var other:
                throw new ConfigurationException($"actorckpt.catalog.provider = '{other}': accepted values are sqlite, postgres");
        }
        var quoted = JsonSerializer.Serialize(connection);
        var plugins = ConfigurationFactory.ParseString($$"""
            {{JournalPluginId}} { connection-string = {{quoted}}, provider-name = "{{provider}}" }
            {{SnapshotPluginId}} { connection-string = {{quoted}}, provider-name = "{{provider}}" }
            """);
        return plugins.WithFallback(config).WithFallback(SqlPersistence.DefaultConfiguration);
    }

    /// <summary>Parses <paramref name="hocon"/> with the defaults as fallback.</summary>
    public static Config Parse(string hocon) => ConfigurationFactory.ParseString(hocon).WithFallback(Defaults);

    private static Config Embedded(string name)
    {
        using var stream = typeof(ActorCkptConfig).Assembly.GetManifestResourceStream(name)
                           ?? throw new InvalidOperationException($"embedded resource {name} is missing from the build");
        using var reader = new StreamReader(stream);
        return ConfigurationFactory.ParseString(reader.ReadToEnd());
    }
}

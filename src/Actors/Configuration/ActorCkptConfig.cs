using System.Text.Json;
using Akka.Cluster.Tools.Singleton;
using Akka.Configuration;
using Akka.Persistence.Sql;
using Akka.Streams;
using Microsoft.Data.Sqlite;
using Npgsql;

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

    /// <summary>
    /// The identifier of the catalog's persistence plugins: ActorCkpt's own, so a host's default
    /// journal (or its own <c>sql</c> plugin) is neither used nor changed.
    /// </summary>
    public const string CatalogPluginName = "actorckpt-catalog";

    /// <summary>The journal plugin the planner keeps its catalog in.</summary>
    public const string JournalPluginId = "akka.persistence.journal." + CatalogPluginName;

    /// <summary>The snapshot store plugin of the catalog.</summary>
    public const string SnapshotPluginId = "akka.persistence.snapshot-store." + CatalogPluginName;

    /// <summary>
    /// <paramref name="config"/> with the catalog's persistence plugins configured from its
    /// <c>actorckpt.catalog</c> section: Akka.Persistence.Sql on SQLite (a file under
    /// <paramref name="root"/>, the checkpoint directory) or on PostgreSQL. ActorCkpt owns the
    /// settings of those two plugin paths; the host's own default journal is left as it is.
    /// Throws <see cref="ConfigurationException"/> naming the key that is wrong.
    /// </summary>
    public static Config WithCatalog(Config config, string root)
    {
        var (provider, connection) = CatalogConnection(config, root);
        var quoted = JsonSerializer.Serialize(connection);
        // Where the catalog is, over the caller's configuration; the plugins' classes under it (a
        // test may put a journal of its own there). Akka.Persistence.Sql falls back to its own
        // defaults for every other key.
        var plugins = ConfigurationFactory.ParseString($$"""
            {{JournalPluginId}} { plugin-id = "{{JournalPluginId}}", connection-string = {{quoted}}, provider-name = "{{provider}}" }
            {{SnapshotPluginId}} { plugin-id = "{{SnapshotPluginId}}", connection-string = {{quoted}}, provider-name = "{{provider}}" }
            """);
        var classes = ConfigurationFactory.ParseString($$"""
            {{JournalPluginId}} {
              class = {{JsonSerializer.Serialize(SqlPersistence.DefaultJournalConfiguration.GetString("class"))}}
              plugin-dispatcher = {{JsonSerializer.Serialize(SqlPersistence.DefaultJournalConfiguration.GetString("plugin-dispatcher"))}}
            }
            {{SnapshotPluginId}} {
              class = {{JsonSerializer.Serialize(SqlPersistence.DefaultSnapshotConfiguration.GetString("class"))}}
              plugin-dispatcher = {{JsonSerializer.Serialize(SqlPersistence.DefaultSnapshotConfiguration.GetString("plugin-dispatcher"))}}
            }
            """);
        return plugins.WithFallback(config).WithFallback(classes).WithFallback(SqlPersistence.DefaultConfiguration);
    }

    /// <summary>
    /// The Linq2Db provider name and the connection string of the catalog as the
    /// <c>actorckpt.catalog</c> section of <paramref name="config"/> (over the defaults) says:
    /// SQLite.MS on "&lt;root&gt;/catalog.db" unless it names another (unpooled either way, see
    /// <see cref="SqliteFile"/>), or PostgreSQL.15.
    /// Throws <see cref="ConfigurationException"/> naming the key that is wrong.
    /// </summary>
    public static (string Provider, string ConnectionString) CatalogConnection(Config config, string root)
    {
        var c = config.WithFallback(Defaults).GetConfig("actorckpt.catalog");
        var connection = c.GetString("connection-string") ?? "";
        switch (c.GetString("provider"))
        {
            case "sqlite":
            {
                // Built, never concatenated: a root path holding "; Data Source=..." stays one path.
                var sqlite = connection.Length == 0
                    ? new SqliteConnectionStringBuilder { DataSource = SqliteFile(config, root), Pooling = false }
                    : Parsed(() => new SqliteConnectionStringBuilder(connection) { Pooling = false });
                // Each unpooled connection would open a database of its own, empty (the first save failed on "no such table"), and none outlives the process.
                if (connection.Length > 0 && (sqlite.Mode == SqliteOpenMode.Memory || sqlite.DataSource is "" or ":memory:"))
                    throw new ConfigurationException($"actorckpt.catalog.connection-string: Data Source '{sqlite.DataSource}'{(sqlite.Mode == SqliteOpenMode.Memory ? " with Mode=Memory" : "")} "
                        + "is a temporary database, which the catalog cannot be: it must outlive the process. Give the path of a file");
                // Every process would resolve it against its own working directory: the node's and a later `actorckpt ls`'s catalogs would differ.
                if (connection.Length > 0 && !Path.IsPathRooted(sqlite.DataSource))
                    throw new ConfigurationException($"actorckpt.catalog.connection-string: Data Source '{sqlite.DataSource}' is a relative path, which each process would resolve against its own working directory: give an absolute path");
                CatalogFile.Check(sqlite);
                return ("SQLite.MS", sqlite.ToString());
            }
            case "postgres":
                if (connection.Length == 0)
                    throw new ConfigurationException("actorckpt.catalog.connection-string must name the PostgreSQL server when actorckpt.catalog.provider = postgres");
                var postgres = Parsed(() => new NpgsqlConnectionStringBuilder(connection));
                // A pooled connection the server ended (a restart, a failover) failed the next journal write, and
                // with it a save: each write opens its own, unless the connection string says how to pool.
                if (!new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connection }.ContainsKey("Pooling")) postgres.Pooling = false;
                return ("PostgreSQL.15", postgres.ToString());
            case var other:
                throw new ConfigurationException($"actorckpt.catalog.provider = '{other}': accepted values are sqlite, postgres");
        }
    }

    /// <summary>
    /// The catalog as an error names it, from the journal <paramref name="config"/> configures: its
    /// SQLite file ("'/ckpt/catalog.db'"), its PostgreSQL server ("on PostgreSQL host:5432, database 'ckpt'"),
    /// or the journal's plugin id for any other. A failure of the journal then says which catalog failed.
    /// </summary>
    public static string CatalogName(Config config)
    {
        var provider = config.GetString(JournalPluginId + ".provider-name", "") ?? "";
        var connection = config.GetString(JournalPluginId + ".connection-string", "") ?? "";
        try
        {
            if (provider == "SQLite.MS" && new SqliteConnectionStringBuilder(connection).DataSource is { Length: > 0 } file) return $"'{file}'";
            if (provider.StartsWith("PostgreSQL", StringComparison.Ordinal) && new NpgsqlConnectionStringBuilder(connection) is { Host: not null } server)
                return $"on PostgreSQL {server.Host}:{server.Port}, database '{server.Database}'";
        }
        catch (ArgumentException)
        {
            // A connection string the journal itself would refuse: named by the plugin instead.
        }
        return $"journaled by '{JournalPluginId}'";
    }

    /// <summary>
    /// The file that configures the catalog, as errors name it in their advice (<c>actorckpt.catalog.config-file</c>), or null
    /// when not known: a catalog set in code, or by a configuration that was not read from a file.
    /// </summary>
    public static string? CatalogConfigFile(Config config) => config.GetString("actorckpt.catalog.config-file", "") is { Length: > 0 } file ? file : null;

    /// <summary>
    /// The command that rebuilds the catalog <paramref name="config"/> configures for <paramref name="root"/>, to run as
    /// printed: the root's own catalog needs no configuration; one kept outside it is named by the file that configures it
    /// (<see cref="SharedCatalogCheck.Rebuild"/>).
    /// </summary>
    public static string RebuildCommand(Config config, string root) => CatalogInRoot(config, root)
        ? $"actorckpt catalog rebuild {SharedCatalogCheck.ShellWord(root)}"
        : SharedCatalogCheck.Rebuild(root, CatalogConfigFile(config));

    /// <summary>
    /// HOCON that records <paramref name="file"/> (its full path) as the file that configures the catalog, to go after
    /// <paramref name="text"/>, the file's own settings; empty when they do not configure a catalog (the advice would name
    /// a file that does not), or name the file themselves (a node file the demo wrote names the user's).
    /// </summary>
    public static string NamingCatalogConfigFile(string file, string text)
    {
        var own = ConfigurationFactory.ParseString(text);
        return !own.HasPath("actorckpt.catalog.config-file") && (own.HasPath("actorckpt.catalog.provider") || own.HasPath("actorckpt.catalog.connection-string"))
            ? $"\nactorckpt.catalog.config-file = {System.Text.Json.JsonSerializer.Serialize(Path.GetFullPath(file))}\n"
            : "";
    }

    /// <summary>
    /// Whether the catalog <paramref name="config"/> configures for checkpoint root <paramref name="root"/> is
    /// the root's own SQLite file (<c>catalog.db</c> under it, or for an object-store root in its state
    /// directory), which a copy of the root takes along. Any other (on PostgreSQL, or a SQLite file named
    /// elsewhere) may hold other roots' catalogs beside it, and a copy of the root shares it
    /// (<see cref="SharedCatalogCheck"/>). Throws <see cref="ConfigurationException"/> as <see cref="CatalogConnection"/>.
    /// </summary>
    public static bool CatalogInRoot(Config config, string root)
    {
        var (provider, connection) = CatalogConnection(config, root);
        // Compared as full paths: "ROOT//catalog.db" or "ROOT/./catalog.db" is the root's own file.
        return provider == "SQLite.MS" && Path.GetFullPath(new SqliteConnectionStringBuilder(connection).DataSource) == SqliteFile(config, root);
    }

    /// <summary>
    /// The catalog's SQLite file: under <paramref name="root"/>, or for an object-store root (which
    /// cannot hold a database) in the root's local state directory (<see cref="BlobStores.StateDirectory"/>).
    /// Unpooled: the file is closed whenever the journal is idle, so nothing holds the checkpoint
    /// root open once the actor system is gone.
    /// </summary>
    internal static string SqliteFile(Config config, string root)
    {
        if (string.IsNullOrWhiteSpace(root))
            throw new ConfigurationException("the catalog needs a checkpoint root for its SQLite file (actorckpt.root)");
        if (!ObjectRoot.IsObjectRoot(root)) return Path.Combine(Path.GetFullPath(root), CheckpointLayout.CatalogFile);
        return Path.Combine(BlobStores.StateDirectory(ObjectRoot.Parse(root), ObjectStoreConfig.Of(config)), CheckpointLayout.CatalogFile);
    }

    /// <summary>A connection string parsed by its provider's builder; one that does not parse names the key.</summary>
    private static T Parsed<T>(Func<T> parse)
    {
        try
        {
            return parse();
        }
        catch (Exception e) when (e is ArgumentException or FormatException or KeyNotFoundException)
        {
            throw new ConfigurationException($"actorckpt.catalog.connection-string does not parse: {e.Message}");
        }
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

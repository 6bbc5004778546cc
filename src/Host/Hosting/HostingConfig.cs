using Akka.Cluster.Tools.Singleton;
using Akka.Configuration;
using Akka.Hosting;
using Akka.Hosting.Logging;
using Akka.Persistence.Sql.Hosting;
using Akka.Streams;

namespace ActorCkpt.Hosting;

/// <summary>
/// What <c>WithActorCkpt</c> adds to a host's Akka.Hosting configuration: the options' HOCON over
/// it; under it, the library defaults (hocon/reference.conf), the shipped cluster settings
/// (hocon/cluster.conf: roles, split-brain resolver, failure detector, planner singleton) where the
/// host has not set them, Akka's log to the host's ILogger unless the host chose its loggers; and
/// the catalog's journal and snapshot store through Akka.Persistence.Sql.Hosting under ActorCkpt's
/// own plugin ids.
/// </summary>
internal static class HostingConfig
{
    // The settings of hocon/cluster.conf a host's cluster gets unless it set them. Not the provider,
    // the address or the seed nodes: those are the host's (WithRemoting, WithClustering). Nor the
    // singleton defaults: they would apply to the host's own singletons too, and the planner's
    // singleton is given its name and role in code (CheckpointNode.Start).
    private static readonly string[] ClusterPaths =
    [
        "akka.cluster.roles",
        "akka.cluster.downing-provider-class",
        "akka.cluster.split-brain-resolver.active-strategy",
        "akka.cluster.split-brain-resolver.stable-after",
        "akka.cluster.failure-detector.heartbeat-interval",
        "akka.cluster.failure-detector.acceptable-heartbeat-pause",
        "akka.stream.materializer.stream-ref.subscription-timeout",
        "akka.remote.dot-netty.tcp.maximum-frame-size",
    ];

    // Defaults Akka.Hosting itself lays into the configuration (AddAkka: the materializer's;
    // WithClustering: the singleton's, among others): a value equal to these was not set by the host.
    private static readonly Lazy<Config> HostingDefaults = new(() => ClusterSingleton.DefaultConfig().WithFallback(ActorMaterializer.DefaultConfig()));

    /// <summary>
    /// hocon/reference.conf for a host's own ActorSystem: its messages keep Akka's default for types
    /// without a binding (ActorCkpt's own nodes refuse them; ActorCkpt's messages all have one), or
    /// the host's persisted events and remote messages would fail to serialize.
    /// </summary>
    private static readonly Lazy<Config> HostedDefaults = new(() =>
    {
        const string key = "akka.actor.serialization-settings.allow-unregistered-types";
        return ConfigurationFactory.ParseString($"{key} = {(ConfigurationFactory.Default().GetBoolean(key) ? "on" : "off")}").WithFallback(ActorCkptConfig.Defaults);
    });

    /// <summary>Lays ActorCkpt's configuration into <paramref name="builder"/> as <paramref name="options"/> say; throws naming what is wrong in them.</summary>
    public static void Apply(AkkaConfigurationBuilder builder, ActorCkptOptions options)
    {
        var user = options.ToConfig();
        var current = builder.Configuration.GetOrElse(Config.Empty) ?? Config.Empty;
        // Config.Empty cannot fall back on itself.
        var host = user.IsEmpty ? current : current.IsEmpty ? user : user.WithFallback(current);

        if (!user.IsEmpty) builder.AddHocon(user, HoconAddMode.Prepend);
        var cluster = ClusterLayer(host);
        if (!cluster.IsEmpty) builder.AddHocon(cluster, HoconAddMode.Prepend);
        // Under the host's own settings. The CLR shutdown hook off: on Ctrl-C or SIGTERM it would stop
        // the actor system before the host stops its services, so a trainer's save in flight died
        // with it; the host's stop (Akka.Hosting's hosted service, stopped last) runs the shutdown.
        builder.AddHocon(ConfigurationFactory.ParseString($"""
            akka.loggers = [{Quote(typeof(LoggerFactoryLogger).AssemblyQualifiedName!)}]
            akka.coordinated-shutdown.phases.before-service-unbind.timeout = {(long)options.FinishSavesTimeout.TotalMilliseconds}ms
            akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
            """), HoconAddMode.Append);
        builder.AddHocon(HostedDefaults.Value, HoconAddMode.Append);

        var (provider, connection) = ActorCkptConfig.CatalogConnection(host, options.Root);
        builder.WithSqlPersistence(
            journalOptions: new SqlJournalOptions(isDefaultPlugin: false, identifier: ActorCkptConfig.CatalogPluginName)
            {
                ConnectionString = connection,
                ProviderName = provider,
                AutoInitialize = true,
            },
            snapshotOptions: new SqlSnapshotOptions(isDefaultPlugin: false, identifier: ActorCkptConfig.CatalogPluginName)
            {
                ConnectionString = connection,
                ProviderName = provider,
                AutoInitialize = true,
            });
    }

    /// <summary>The settings of hocon/cluster.conf that <paramref name="host"/> leaves unset (or at Akka.Hosting's defaults).</summary>
    internal static Config ClusterLayer(Config host)
    {
        var shipped = ActorCkptConfig.Cluster;
        var lines = new List<string>();
        foreach (var path in ClusterPaths)
        {
            if (!shipped.HasPath(path)) continue;
            if (IsSet(host, path) && !(IsSet(HostingDefaults.Value, path) && Render(host, path) == Render(HostingDefaults.Value, path))) continue;
            lines.Add($"{path} = {Render(shipped, path)}");
        }
        return lines.Count == 0 ? Config.Empty : ConfigurationFactory.ParseString(string.Join('\n', lines));
    }

    private static bool IsSet(Config config, string path) => !config.IsEmpty && config.HasPath(path);

    private static string Render(Config config, string path)
    {
        var value = config.GetValue(path);
        return value.IsArray()
            ? "[" + string.Join(", ", config.GetStringList(path).Select(Quote)) + "]"
            : Quote(config.GetString(path));
    }

    private static string Quote(string s) => System.Text.Json.JsonSerializer.Serialize(s);
}

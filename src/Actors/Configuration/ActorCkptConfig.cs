using Akka.Cluster.Tools.Singleton;
using Akka.Configuration;
using Akka.Streams;

namespace ActorCkpt.Actors;

/// <summary>The embedded configuration files (hocon/reference.conf, hocon/cluster.conf) and helpers to build a node's configuration.</summary>
public static class ActorCkptConfig
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

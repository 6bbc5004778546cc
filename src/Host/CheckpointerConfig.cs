using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;

namespace ActorCkpt;

/// <summary>
/// Turns <see cref="CheckpointerOptions"/> into a node's configuration: the options' settings over
/// their HOCON, over (for a cluster node) the typed cluster options and hocon/cluster.conf, over
/// hocon/node.conf and the library defaults. Joins the cluster the options name.
/// </summary>
internal static class CheckpointerConfig
{
    /// <summary>Name of the actor system of a one-process checkpointer and, by default, of every cluster node.</summary>
    public const string SystemName = "actorckpt";

    /// <summary>The configuration <paramref name="options"/> amount to; throws naming what is missing or malformed.</summary>
    public static Config Build(CheckpointerOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Root))
            throw new ArgumentException("CheckpointerOptions.Root is not set: the checkpoint root is required", nameof(options));
        var top = new StringBuilder();
        foreach (var (path, value) in options.Settings)
        {
            if (path.Length == 0 || path.Any(c => !(char.IsLetterOrDigit(c) || c is '.' or '-' or '_')))
                throw new ArgumentException($"CheckpointerOptions.Settings has '{path}', which is not a setting path (letters, digits, '.', '-', '_')", nameof(options));
            // Quoted: HOCON reads numbers, durations and booleans from strings, and paths need the quotes.
            top.Append("actorckpt.").Append(path).Append(" = ").AppendLine(JsonSerializer.Serialize(value));
        }
        var config = ConfigurationFactory.ParseString(top.ToString())
            .WithFallback(string.IsNullOrWhiteSpace(options.Hocon) ? Config.Empty : ConfigurationFactory.ParseString(options.Hocon));
        if (options.Cluster is { } cluster)
        {
            var roles = string.Join(", ", cluster.Roles.Select(r => JsonSerializer.Serialize(r)));
            config = config
                .WithFallback(ConfigurationFactory.ParseString($"""
                    akka.remote.dot-netty.tcp.hostname = {JsonSerializer.Serialize(cluster.Host)}
                    akka.remote.dot-netty.tcp.port = {cluster.Port}
                    akka.cluster.roles = [{roles}]
                    """))
                .WithFallback(ActorCkptConfig.Cluster);
        }
        return config.WithFallback(NodeConfig.Build());
    }

    /// <summary>Joins the seed nodes of <paramref name="cluster"/> (or forms a cluster alone) and completes once this node is up.</summary>
    public static async Task JoinAsync(ActorSystem system, CheckpointClusterOptions cluster, CancellationToken cancellationToken)
    {
        var akkaCluster = Akka.Cluster.Cluster.Get(system);
        var seeds = cluster.SeedNodes.Select(s => ParseSeed(s, cluster.SystemName)).ToList();
        await akkaCluster.JoinSeedNodesAsync(seeds.Count > 0 ? seeds : [akkaCluster.SelfAddress], cancellationToken);
    }

    /// <summary>A seed node given as <c>host:port</c> or as a full actor system address.</summary>
    public static Address ParseSeed(string seed, string systemName)
    {
        if (seed.Contains("://", StringComparison.Ordinal)) return Address.Parse(seed);
        var colon = seed.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(seed.AsSpan(colon + 1), out var port) || port is <= 0 or > 65535)
            throw new ArgumentException($"seed node '{seed}' is neither host:port nor akka.tcp://{systemName}@host:port");
        return new Address("akka.tcp", systemName, seed[..colon], port);
    }
}

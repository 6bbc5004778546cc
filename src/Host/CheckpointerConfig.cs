using System.Globalization;
using System.Text.Json;
using Akka.Actor;
using Akka.Cluster;
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
        NotNull(options.MemoryTier, "CheckpointerOptions.MemoryTier");
        NotNull(options.ObjectTier, "CheckpointerOptions.ObjectTier");
        var config = ConfigurationFactory.ParseString(options.MemoryTier.ToHocon() + options.ObjectTier.ToHocon() + SettingsHocon.From(options.Settings, "CheckpointerOptions.Settings"))
            .WithFallback(UserHocon.Parse(options.Hocon, "CheckpointerOptions.Hocon"));
        if (options.Cluster is { } cluster)
        {
            Validate(cluster);
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

    /// <summary>Throws naming <paramref name="property"/> when <paramref name="value"/> is null: an option set to null is not one left out.</summary>
    public static void NotNull(object? value, string property)
    {
        if (value is null) throw new ArgumentException($"{property} is null: leave it out for its default, or set it");
    }

    /// <summary>The roles a node may have (<see cref="CheckpointClusterOptions.Roles"/>).</summary>
    public static IReadOnlyList<string> Roles { get; } = new[] { ClusterRoles.Rank, ClusterRoles.Writer, ClusterRoles.Planner };

    /// <summary>
    /// Throws <see cref="ArgumentException"/> naming <paramref name="property"/> when <paramref name="roles"/> is null
    /// or empty, names a role that is not one, or names one twice: the list starts with all three, and a collection
    /// initializer adds to them where the caller meant to replace them.
    /// </summary>
    internal static void CheckRoles(IList<string>? roles, string property)
    {
        if (roles is null) throw new ArgumentException($"{property} is null: leave it out for all three roles ({string.Join(", ", Roles)}), or assign a list of some");
        if (roles.Count == 0)
            throw new ArgumentException($"{property} is empty: give at least one of {string.Join(", ", Roles)} (a training node has all three)");
        foreach (var role in roles)
            if (!Roles.Contains(role))
                throw new ArgumentException($"{property} has '{role}', which is not a role: accepted roles are {string.Join(", ", Roles)}");
        if (roles.GroupBy(r => r, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new ArgumentException($"{property} has '{twice.Key}' twice ({string.Join(", ", roles)}): it starts with all three roles, and an " +
                $"initializer ({property.Split('.')[^1]} = {{ \"{twice.Key}\" }}) adds to them; to give only some, assign a list: {property.Split('.')[^1]} = [\"{twice.Key}\"]");
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option of <paramref name="cluster"/> that is missing or malformed, and the fix.</summary>
    public static void Validate(CheckpointClusterOptions cluster)
    {
        if (string.IsNullOrEmpty(cluster.SystemName) || !char.IsAsciiLetterOrDigit(cluster.SystemName[0])
            || cluster.SystemName.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_')))
            throw new ArgumentException($"CheckpointClusterOptions.SystemName = '{cluster.SystemName}' is not an actor system name: ASCII letters, digits, '-' and '_', starting with a letter or digit");
        if (string.IsNullOrWhiteSpace(cluster.Host))
            throw new ArgumentException("CheckpointClusterOptions.Host is empty: give the address this node listens on and is reached at (127.0.0.1 for one machine)");
        if (cluster.Port is < 0 or > 65535)
            throw new ArgumentException($"CheckpointClusterOptions.Port = {cluster.Port}: must be between 0 and 65535 (0 picks a free port)");
        CheckRoles(cluster.Roles, "CheckpointClusterOptions.Roles");
        foreach (var seed in cluster.SeedNodes) ParseSeed(seed, cluster.SystemName);
        if (cluster.JoinTimeout <= TimeSpan.Zero || cluster.JoinTimeout > CheckpointNode.LongestTimer)
            throw new ArgumentException($"CheckpointClusterOptions.JoinTimeout = {cluster.JoinTimeout}: must be positive, at most {CheckpointNode.LongestTimer}");
    }

    /// <summary>Joins the seed nodes of <paramref name="cluster"/> (or forms a cluster alone) and completes once this node is up.</summary>
    public static async Task JoinAsync(ActorSystem system, CheckpointClusterOptions cluster, CancellationToken cancellationToken)
    {
        var akkaCluster = Akka.Cluster.Cluster.Get(system);
        var seeds = cluster.SeedNodes.Select(s => ParseSeed(s, cluster.SystemName)).ToList();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(cluster.JoinTimeout);
        try
        {
            await akkaCluster.JoinSeedNodesAsync(seeds.Count > 0 ? seeds : [akkaCluster.SelfAddress], deadline.Token);
        }
        // Akka ends a join its token cancelled with ClusterJoinFailedException, not OperationCanceledException.
        catch (Exception e) when (e is OperationCanceledException or ClusterJoinFailedException && deadline.IsCancellationRequested)
        {
            cancellationToken.ThrowIfCancellationRequested();
            throw new ActorCkptException($"{akkaCluster.SelfAddress} did not join the cluster within {cluster.JoinTimeout} through the seed nodes " +
                                         $"[{string.Join(", ", seeds)}]: check that a seed node is up and reachable, or raise CheckpointClusterOptions.JoinTimeout");
        }
    }

    /// <summary>A seed node given as <c>host:port</c> or as a full actor system address; throws naming it and the forms accepted.</summary>
    public static Address ParseSeed(string seed, string systemName)
    {
        var forms = $"give host:port or akka.tcp://{systemName}@host:port in CheckpointClusterOptions.SeedNodes";
        if (seed.Contains("://", StringComparison.Ordinal))
        {
            Address address;
            try
            {
                address = Address.Parse(seed);
            }
            catch (Exception e) when (e is UriFormatException or FormatException or ArgumentException)
            {
                throw new ArgumentException($"seed node '{seed}' is not an actor system address: {forms}", e);
            }
            if (address.Protocol != "akka.tcp" || string.IsNullOrEmpty(address.Host) || address.Port is not (> 0 and <= 65535))
                throw new ArgumentException($"seed node '{seed}' needs the protocol akka.tcp, a host and a port from 1 to 65535: {forms}");
            if (address.System != systemName)
                throw new ArgumentException($"seed node '{seed}' names the actor system '{address.System}', but this node's is '{systemName}' (CheckpointClusterOptions.SystemName): nodes of one cluster share one name");
            return address;
        }
        var colon = seed.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(seed.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is <= 0 or > 65535)
            throw new ArgumentException($"seed node '{seed}' is not host:port with a port from 1 to 65535: {forms}");
        return new Address("akka.tcp", systemName, seed[..colon], port);
    }
}

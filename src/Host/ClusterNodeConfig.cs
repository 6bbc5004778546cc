using Akka.Configuration;

namespace ActorCkpt;

/// <summary>
/// The configuration of a cluster node: the caller's settings, then hocon/cluster.conf, then
/// hocon/node.conf and the library defaults (see <see cref="NodeConfig"/>).
/// </summary>
internal static class ClusterNodeConfig
{
    /// <summary>Name of the actor system of every ActorCkpt node: nodes of one cluster must share it.</summary>
    public const string SystemName = "actorckpt";

    /// <summary>
    /// A node's configuration: <paramref name="fileHocon"/> (the --config file), then the given
    /// port, roles and root on top when set.
    /// </summary>
    public static Config Build(string? fileHocon, int? port, IReadOnlyList<string>? roles, string? root)
    {
        var overrides = new List<string>();
        if (port is not null) overrides.Add($"akka.remote.dot-netty.tcp.port = {port}");
        if (roles is { Count: > 0 }) overrides.Add($"akka.cluster.roles = [{string.Join(", ", roles)}]");
        if (root is not null) overrides.Add($"actorckpt.root = \"{root.Replace("\\", "\\\\").Replace("\"", "\\\"")}\"");
        return ConfigurationFactory.ParseString(string.Join("\n", overrides))
            .WithFallback(string.IsNullOrWhiteSpace(fileHocon) ? Config.Empty : ConfigurationFactory.ParseString(fileHocon))
            .WithFallback(ActorCkptConfig.Cluster)
            .WithFallback(NodeConfig.Build());
    }
}

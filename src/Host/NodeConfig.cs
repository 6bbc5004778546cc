using Akka.Configuration;

namespace ActorCkpt;

/// <summary>
/// The configuration a node starts with: the caller's HOCON, then hocon/node.conf (embedded),
/// then the library defaults (hocon/reference.conf).
/// </summary>
internal static class NodeConfig
{
    /// <summary>hocon/node.conf as embedded in this assembly.</summary>
    public static Config Node { get; } = Load();

    /// <summary>The full configuration with <paramref name="overrides"/> (HOCON, may be empty) on top.</summary>
    public static Config Build(string? overrides = null) =>
        (string.IsNullOrWhiteSpace(overrides) ? Config.Empty : ConfigurationFactory.ParseString(overrides))
        .WithFallback(Node)
        .WithFallback(ActorCkptConfig.Defaults);

    /// <summary>
    /// <see cref="Build"/>, checked as a node's start checks it (<see cref="ActorCkptSettings.Create(Config)"/>):
    /// for commands that only read, so that a misspelt or malformed <c>--config</c> is refused in one
    /// line per problem instead of silently read as the defaults.
    /// </summary>
    public static Config Checked(string? overrides)
    {
        var config = Build(overrides);
        ActorCkptSettings.Create(config);
        return config;
    }

    private static Config Load()
    {
        using var stream = typeof(NodeConfig).Assembly.GetManifestResourceStream("ActorCkpt.node.conf")
                           ?? throw new InvalidOperationException("embedded resource ActorCkpt.node.conf is missing from the build");
        using var reader = new StreamReader(stream);
        return ConfigurationFactory.ParseString(reader.ReadToEnd());
    }
}

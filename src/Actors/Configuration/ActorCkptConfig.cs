using Akka.Configuration;

namespace ActorCkpt.Actors;

/// <summary>The embedded defaults (hocon/reference.conf) and helpers to build a node's configuration.</summary>
public static class ActorCkptConfig
{
    private static readonly Lazy<Config> LazyDefaults = new(() =>
    {
        using var stream = typeof(ActorCkptConfig).Assembly.GetManifestResourceStream("ActorCkpt.reference.conf")
                           ?? throw new InvalidOperationException("embedded resource ActorCkpt.reference.conf is missing from the build");
        using var reader = new StreamReader(stream);
        return ConfigurationFactory.ParseString(reader.ReadToEnd());
    });

    /// <summary>The defaults of every <c>actorckpt</c> key.</summary>
    public static Config Defaults => LazyDefaults.Value;

    /// <summary>Parses <paramref name="hocon"/> with the defaults as fallback.</summary>
    public static Config Parse(string hocon) => ConfigurationFactory.ParseString(hocon).WithFallback(Defaults);
}

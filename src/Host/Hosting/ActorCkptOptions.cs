using Akka.Configuration;

namespace ActorCkpt.Hosting;

/// <summary>
/// How <see cref="ActorCkptAkkaHostingExtensions.WithActorCkpt(Akka.Hosting.AkkaConfigurationBuilder, ActorCkptOptions)"/>
/// runs ActorCkpt in a host's ActorSystem (and <see cref="ActorCkptServiceCollectionExtensions.AddActorCkpt"/>
/// in one of its own): the checkpoint root, settings under <c>actorckpt</c> (see docs/configuration.md),
/// and where the catalog is journaled. Binds from configuration (section <c>ActorCkpt</c> of appsettings.json).
/// </summary>
/// <example>
/// <code>
/// services.AddAkka("train", (akka, sp) => akka
///     .WithRemoting("127.0.0.1", 4053)
///     .WithClustering(new ClusterOptions { Roles = ["rank", "writer", "planner"], SeedNodes = ["akka.tcp://train@127.0.0.1:4053"] })
///     .WithActorCkpt(o =>
///     {
///         o.Root = "/checkpoints/run1";
///         o.Settings["retention.keep-last"] = "3";
///     }));
/// services.AddActorCkptCheckpointer();   // ICheckpointer for the training loop
/// </code>
/// </example>
public sealed class ActorCkptOptions
{
    /// <summary>The checkpoint root: a directory every node of the job sees (required).</summary>
    public string Root { get; set; } = "";

    /// <summary>Settings under <c>actorckpt</c> by their path below it, as HOCON values: <c>["writer.pool-size"] = "8"</c>. They override <see cref="Hocon"/> and <see cref="HoconFile"/>.</summary>
    public Dictionary<string, string> Settings { get; set; } = new(StringComparer.Ordinal);

    /// <summary>HOCON laid over the host's configuration (it may set <c>akka.*</c> too), under <see cref="Settings"/>.</summary>
    public string? Hocon { get; set; }

    /// <summary>A HOCON file read as <see cref="Hocon"/> is, under it.</summary>
    public string? HoconFile { get; set; }

    /// <summary>Where the planner journals the catalog of checkpoints; by default the SQLite file <c>catalog.db</c> under <see cref="Root"/>.</summary>
    public ActorCkptCatalogOptions Catalog { get; set; } = new();

    /// <summary>The memory tier (off unless <see cref="MemoryTierOptions.Enabled"/>); <see cref="Settings"/> override it.</summary>
    public MemoryTierOptions MemoryTier { get; set; } = new();

    /// <summary>The object tier (off unless <see cref="ObjectTierOptions.Root"/> is set); <see cref="Settings"/> override it.</summary>
    public ObjectTierOptions ObjectTier { get; set; } = new();

    /// <summary>
    /// How long a stopping host waits for the saves in flight to end before its ActorSystem
    /// terminates (the timeout of the <c>before-service-unbind</c> phase of coordinated shutdown,
    /// unless the host's configuration sets that phase's timeout itself). 25 s by default: within
    /// .NET's default <c>HostOptions.ShutdownTimeout</c> and Kubernetes' default grace period (30 s
    /// each), with room for the rest of the shutdown. The wait also ends 2 s before the host's own
    /// <c>HostOptions.ShutdownTimeout</c> runs out: a host that raises this raises that (and a pod's
    /// grace period) too.
    /// </summary>
    public TimeSpan FinishSavesTimeout { get; set; } = TimeSpan.FromSeconds(25);

    /// <summary>
    /// Wraps the storage under the root (set by ActorCkpt.TestKit's <c>UseStorageFaults</c> to run a
    /// host over fault-injecting storage in a test); null in production.
    /// </summary>
    internal Func<IBlobStore, IBlobStore>? WrapStore { get; set; }

    /// <summary>The configuration these options lay over the host's: <see cref="Settings"/> (over <see cref="MemoryTier"/> and <see cref="ObjectTier"/>) and <see cref="Catalog"/> over <see cref="Hocon"/> over <see cref="HoconFile"/>. Throws naming what is missing or malformed.</summary>
    internal Config ToConfig()
    {
        if (string.IsNullOrWhiteSpace(Root))
            throw new ArgumentException("ActorCkptOptions.Root is not set: the checkpoint root is required (o => o.Root = \"/checkpoints/run1\", or ActorCkpt:Root in configuration)");
        CheckpointerConfig.NotNull(Settings, "ActorCkptOptions.Settings");
        CheckpointerConfig.NotNull(Catalog, "ActorCkptOptions.Catalog");
        CheckpointerConfig.NotNull(MemoryTier, "ActorCkptOptions.MemoryTier");
        CheckpointerConfig.NotNull(ObjectTier, "ActorCkptOptions.ObjectTier");
        if (FinishSavesTimeout <= TimeSpan.Zero || FinishSavesTimeout > CheckpointNode.LongestTimer)
            throw new ArgumentException($"ActorCkptOptions.FinishSavesTimeout = {(FinishSavesTimeout == Timeout.InfiniteTimeSpan ? "Timeout.InfiniteTimeSpan" : FinishSavesTimeout)}: " +
                                        $"give a positive duration of at most {CheckpointNode.LongestTimer} (a host's shutdown does not wait without end)");
        var config = Over(Parse(MemoryTier.ToHocon() + ObjectTier.ToHocon() + SettingsHocon.From(Settings, "ActorCkptOptions.Settings") + Catalog.ToHocon()), UserHocon.Parse(Hocon, "ActorCkptOptions.Hocon"));
        if (HoconFile is not null)
        {
            var text = UserHocon.ReadFile(HoconFile, "ActorCkptOptions.HoconFile");
            // Named in advice only when its catalog is the one in force: one Catalog or Hocon set over it is not the file's.
            var naming = SameCatalog(Parse(text), Over(config, Parse(text))) ? ActorCkptConfig.NamingCatalogConfigFile(HoconFile, text) : "";
            config = Over(config, Parse(text + naming));
        }
        return config;
    }

    /// <summary>Whether <paramref name="file"/> alone configures the catalog <paramref name="inForce"/> does for <see cref="Root"/>.</summary>
    private bool SameCatalog(Config file, Config inForce)
    {
        try
        {
            return ActorCkptConfig.CatalogConnection(Over(file, ActorCkptConfig.Defaults), Root!) == ActorCkptConfig.CatalogConnection(Over(inForce, ActorCkptConfig.Defaults), Root!);
        }
        catch (ConfigurationException)
        {
            // A catalog that does not parse fails the start itself, naming it.
            return false;
        }
    }

    // Config.Empty cannot fall back on itself.
    private static Config Over(Config top, Config under) => under.IsEmpty ? top : top.IsEmpty ? under : top.WithFallback(under);

    private static Config Parse(string? hocon) => string.IsNullOrWhiteSpace(hocon) ? Config.Empty : ConfigurationFactory.ParseString(hocon);
}

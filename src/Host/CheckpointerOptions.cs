namespace ActorCkpt;

/// <summary>
/// How <see cref="Checkpointer.Start(CheckpointerOptions)"/> starts a checkpointer: the checkpoint
/// root, settings under <c>actorckpt</c> (see docs/configuration.md), and, to run as a node of an
/// Akka.NET cluster, <see cref="Cluster"/>.
/// </summary>
/// <example>
/// <code>
/// await using var ckpt = Checkpointer.Start(new CheckpointerOptions
/// {
///     Root = "/checkpoints/run1",
///     Settings = { ["retention.keep-last"] = "3" },
///     Cluster = new CheckpointClusterOptions { Port = 4053, SeedNodes = { "127.0.0.1:4053" } },
/// });
/// </code>
/// </example>
public sealed class CheckpointerOptions
{
    /// <summary>The checkpoint root: a directory every node of the job sees (required).</summary>
    public string Root { get; set; } = "";

    /// <summary>Settings under <c>actorckpt</c> by their path below it, as HOCON values: <c>["writer.pool-size"] = "8"</c>.</summary>
    public IDictionary<string, string> Settings { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>HOCON laid over the defaults and under <see cref="Settings"/> (for example the contents of a file); may set <c>akka.*</c> too.</summary>
    public string? Hocon { get; set; }

    /// <summary>The memory tier (off unless <see cref="MemoryTierOptions.Enabled"/>); <see cref="Settings"/> override it.</summary>
    public MemoryTierOptions MemoryTier { get; set; } = new();

    /// <summary>The object tier (off unless <see cref="ObjectTierOptions.Root"/> is set); <see cref="Settings"/> override it.</summary>
    public ObjectTierOptions ObjectTier { get; set; } = new();

    /// <summary>Null: one process, no remoting. Set: this process is a node of a cluster.</summary>
    public CheckpointClusterOptions? Cluster { get; set; }

    /// <summary>
    /// Wraps the storage under the root (set by ActorCkpt.TestKit's <c>UseStorageFaults</c> to run a
    /// checkpointer over fault-injecting storage in a test); null in production.
    /// </summary>
    internal Func<IBlobStore, IBlobStore>? WrapStore { get; set; }
}

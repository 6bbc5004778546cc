using ActorCkpt.Hosting;

namespace ActorCkpt.TestKit;

/// <summary>
/// Runs a checkpointer under test over fault-injecting storage: the one hook a host needs, whether
/// it starts ActorCkpt with <see cref="Checkpointer.StartAsync"/> or inside its own ActorSystem with
/// Akka.Hosting's <c>WithActorCkpt</c>. Production code never calls these.
/// </summary>
public static class StorageFaultsExtensions
{
    /// <summary>
    /// The checkpointer started with these options writes through <paramref name="faults"/>; returns
    /// <paramref name="options"/>. Replaces faults set before.
    /// </summary>
    /// <example><code>var ckpt = await Checkpointer.StartAsync(new CheckpointerOptions { Root = root }.UseStorageFaults(faults));</code></example>
    public static CheckpointerOptions UseStorageFaults(this CheckpointerOptions options, StorageFaults faults)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(faults);
        options.WrapStore = faults.Wrap;
        return options;
    }

    /// <summary>
    /// ActorCkpt inside the host's ActorSystem (<c>WithActorCkpt</c>) writes through
    /// <paramref name="faults"/>; returns <paramref name="options"/>. Replaces faults set before.
    /// </summary>
    /// <example><code>akka.WithActorCkpt(o => o.UseStorageFaults(faults).Root = root);</code></example>
    public static ActorCkptOptions UseStorageFaults(this ActorCkptOptions options, StorageFaults faults)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(faults);
        options.WrapStore = faults.Wrap;
        return options;
    }
}

using System.Collections.Concurrent;
using Akka.Actor;

namespace ActorCkpt;

/// <summary>
/// The bulk channels of an actor system (an Akka extension): one <see cref="NodeBulkChannel"/> per
/// distinct channel configuration, shared by the writers, readers and ranks of the node that use it.
/// </summary>
internal sealed class BulkChannels : IExtension
{
    private readonly ActorSystem _system;
    private readonly ConcurrentDictionary<(BulkChannelSettings, TimeSpan), Lazy<NodeBulkChannel>> _channels = new();

    /// <summary>Created by <see cref="BulkChannelsProvider"/>.</summary>
    public BulkChannels(ActorSystem system) => _system = system;

    /// <summary>The extension of <paramref name="system"/>.</summary>
    public static BulkChannels Get(ActorSystem system) => system.WithExtension<BulkChannels, BulkChannelsProvider>();

    /// <summary>The channel configured by <paramref name="settings"/>.</summary>
    public NodeBulkChannel For(ActorCkptSettings settings) =>
        _channels.GetOrAdd((settings.Channel, settings.TransferTokenTtl),
            key => new Lazy<NodeBulkChannel>(() => new NodeBulkChannel(_system, key.Item1, key.Item2))).Value;
}

/// <summary>Makes the <see cref="BulkChannels"/> extension.</summary>
internal sealed class BulkChannelsProvider : ExtensionIdProvider<BulkChannels>
{
    /// <inheritdoc />
    public override BulkChannels CreateExtension(ExtendedActorSystem system) => new(system);
}

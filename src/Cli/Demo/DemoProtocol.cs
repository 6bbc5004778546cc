
namespace ActorCkpt.Cli.Demo;

/// <summary>The synthetic model of a multi-node demo, as every node rebuilds it.</summary>
/// <param name="SizeMb">Model size in MiB.</param>
/// <param name="Tensors">Number of tensors.</param>
/// <param name="Layout">sharded, replicated or mixed.</param>
/// <param name="Seed">Seed of the values.</param>
/// <remarks>Not a message of its own: carried by <see cref="RunDemoSave"/> and <see cref="RunDemoLoad"/> (and so admitted on the wire with them).</remarks>
internal sealed record DemoModel(long SizeMb, int Tensors, string Layout, int Seed);

/// <summary>Save <paramref name="Step"/> for <paramref name="Ranks"/> of <paramref name="World"/> ranks on the agent's node.</summary>
/// <param name="Step">The step.</param>
/// <param name="Ranks">The ranks this node hosts.</param>
/// <param name="World">Number of ranks.</param>
/// <param name="Model">The model.</param>
/// <param name="Tier">The tier the save asks for (the bench's memory runs name it; the demo follows the policy).</param>
/// <remarks>A wire message: sent by the demo's driver to the agent of each rank node, another process. The state is the one
/// <see cref="PrepareDemoSave"/> built for the step, or built now.</remarks>
internal sealed record RunDemoSave(long Step, int[] Ranks, int World, DemoModel Model, SaveTier Tier = SaveTier.Policy) : IActorCkptMessage;

/// <summary>
/// Build the state <see cref="RunDemoSave"/> of the same step will save, and answer
/// <see cref="DemoSavePrepared"/>: the benches prepare every node before any clock starts, since a
/// collective save's clock on one node would otherwise hold the other nodes' building of their state.
/// </summary>
/// <param name="Step">The step.</param>
/// <param name="World">Number of ranks.</param>
/// <param name="Model">The model.</param>
/// <remarks>A wire message: sent by the bench's driver to the agent of each rank node, another process.</remarks>
internal sealed record PrepareDemoSave(long Step, int World, DemoModel Model) : IActorCkptMessage;

/// <summary>A node built the state of <paramref name="Step"/> (<see cref="PrepareDemoSave"/>).</summary>
/// <param name="Step">The step.</param>
/// <remarks>A wire message: an agent's answer to the driver, in another process.</remarks>
internal sealed record DemoSavePrepared(long Step) : IActorCkptMessage;

/// <summary>A node's ranks saved a step: seconds until staged and until committed, or the failure.</summary>
/// <param name="StagedSeconds">Until every rank of the node was staged.</param>
/// <param name="SavedSeconds">Until every rank of the node saw the commit.</param>
/// <param name="Error">Why the save failed, or null.</param>
/// <param name="Pushed">What the node's ranks pushed to writers on other nodes over the bulk channel during the save.</param>
/// <remarks>A wire message: an agent's answer to the driver, in another process.</remarks>
internal sealed record DemoSaveDone(double StagedSeconds, double SavedSeconds, string? Error, BulkActivity? Pushed = null) : IActorCkptMessage;

/// <summary>Load <paramref name="Step"/> into <paramref name="Ranks"/> of <paramref name="World"/> ranks and check them bit-exact.</summary>
/// <param name="Step">The step; null for the newest loadable one, from either tier.</param>
/// <param name="Ranks">The ranks this node hosts.</param>
/// <param name="World">Number of ranks of the load.</param>
/// <param name="Model">The model.</param>
/// <param name="ThroughReaders">True to read through the readers of the nodes that wrote the files, false from the directory, null as configured.</param>
/// <param name="Only">A tier the load is limited to; null for either.</param>
/// <remarks>A wire message: sent by the demo's driver to the agent of each rank node, another process.</remarks>
internal sealed record RunDemoLoad(long? Step, int[] Ranks, int World, DemoModel Model, bool? ThroughReaders = null, StorageTier? Only = null) : IActorCkptMessage;

/// <summary>A node's ranks loaded: seconds, and one line per difference (empty when bit-exact).</summary>
/// <param name="Seconds">Load time.</param>
/// <param name="Problems">Differences or the failure.</param>
/// <param name="BytesRead">Bytes the node's ranks read from data files.</param>
/// <param name="Step">The step the node's ranks loaded; -1 when they loaded none.</param>
/// <param name="Tier">The tier it came from.</param>
/// <param name="BytesFromPeers">Bytes the node's ranks read from other hosts' memory.</param>
/// <param name="Error">Why the load failed, when it did (then also the one line of <paramref name="Problems"/>); null otherwise.</param>
/// <remarks>A wire message: an agent's answer to the driver, in another process.</remarks>
internal sealed record DemoLoadDone(double Seconds, string[] Problems, long BytesRead = 0, long Step = -1, StorageTier Tier = StorageTier.Disk, long BytesFromPeers = 0,
    string? Error = null) : IActorCkptMessage;

/// <summary>The bench's socket baseline: listen for one plain TCP copy of <paramref name="Bytes"/> bytes; answered <see cref="SocketSinkOpened"/>.</summary>
/// <param name="Bytes">Bytes the copy will send.</param>
/// <remarks>A wire message: sent by the bench's driver to the agent of the receiving node, another process.</remarks>
internal sealed record OpenSocketSink(long Bytes) : IActorCkptMessage;

/// <summary>The receiving node listens at <paramref name="Endpoint"/>.</summary>
/// <param name="Endpoint">"host:port".</param>
/// <remarks>A wire message: an agent's answer to the driver, in another process.</remarks>
internal sealed record SocketSinkOpened(string Endpoint) : IActorCkptMessage;

/// <summary>The bench's socket baseline: send <paramref name="Bytes"/> to <paramref name="Endpoint"/> over plain TCP; answered <see cref="SocketCopyDone"/>.</summary>
/// <param name="Endpoint">The receiving node's <see cref="SocketSinkOpened.Endpoint"/>.</param>
/// <param name="Bytes">Bytes to send.</param>
/// <remarks>A wire message: sent by the bench's driver to the agent of the sending node, another process.</remarks>
internal sealed record RunSocketCopy(string Endpoint, long Bytes) : IActorCkptMessage;

/// <summary>The copy (<see cref="RunSocketCopy"/> or <see cref="RunChannelCopy"/>) took <paramref name="Seconds"/> from its first byte to the receiver's acknowledgement, or failed.</summary>
/// <param name="Seconds">The copy's time.</param>
/// <param name="Error">Why it failed, or null.</param>
/// <remarks>A wire message: an agent's answer to the driver, in another process.</remarks>
internal sealed record SocketCopyDone(double Seconds, string? Error) : IActorCkptMessage;

/// <summary>The bench's channel baseline: expect one push of <paramref name="Bytes"/> bytes over the bulk channel into a sink that keeps nothing; answered <see cref="ChannelSinkOpened"/>.</summary>
/// <param name="Bytes">Bytes the push will send.</param>
/// <remarks>A wire message: sent by the bench's driver to the agent of the receiving node, another process.</remarks>
internal sealed record OpenChannelSink(long Bytes) : IActorCkptMessage;

/// <summary>The receiving node's bulk channel listens at <paramref name="Endpoint"/> and admits the push with <paramref name="Token"/>.</summary>
/// <param name="Endpoint">"host:port" of its bulk server.</param>
/// <param name="Token">The push's one-time token (<see cref="TransferToken.Hex"/>).</param>
/// <remarks>A wire message: an agent's answer to the driver, in another process.</remarks>
internal sealed record ChannelSinkOpened(string Endpoint, string Token) : IActorCkptMessage;

/// <summary>The bench's channel baseline: push <paramref name="Bytes"/> to <paramref name="Endpoint"/> over the bulk channel with <paramref name="Token"/>; answered <see cref="SocketCopyDone"/>.</summary>
/// <param name="Endpoint">The receiving node's <see cref="ChannelSinkOpened.Endpoint"/>.</param>
/// <param name="Token">Its <see cref="ChannelSinkOpened.Token"/>.</param>
/// <param name="Bytes">Bytes to push.</param>
/// <remarks>A wire message: sent by the bench's driver to the agent of the sending node, another process.</remarks>
internal sealed record RunChannelCopy(string Endpoint, string Token, long Bytes) : IActorCkptMessage;

/// <summary>Leave the cluster and stop the node's process.</summary>
/// <remarks>A wire message: sent by the demo's driver to each rank node's agent, another process.</remarks>
internal sealed record StopNode : IActorCkptMessage;

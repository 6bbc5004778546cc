
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
/// <remarks>A wire message: sent by the demo's driver to the agent of each rank node, another process.</remarks>
internal sealed record RunDemoSave(long Step, int[] Ranks, int World, DemoModel Model) : IActorCkptMessage;

/// <summary>A node's ranks saved a step: seconds until staged and until committed, or the failure.</summary>
/// <param name="StagedSeconds">Until every rank of the node was staged.</param>
/// <param name="SavedSeconds">Until every rank of the node saw the commit.</param>
/// <param name="Error">Why the save failed, or null.</param>
/// <remarks>A wire message: an agent's answer to the driver, in another process.</remarks>
internal sealed record DemoSaveDone(double StagedSeconds, double SavedSeconds, string? Error) : IActorCkptMessage;

/// <summary>Load <paramref name="Step"/> into <paramref name="Ranks"/> of <paramref name="World"/> ranks and check them bit-exact.</summary>
/// <param name="Step">The step.</param>
/// <param name="Ranks">The ranks this node hosts.</param>
/// <param name="World">Number of ranks of the load.</param>
/// <param name="Model">The model.</param>
/// <remarks>A wire message: sent by the demo's driver to the agent of each rank node, another process.</remarks>
internal sealed record RunDemoLoad(long Step, int[] Ranks, int World, DemoModel Model) : IActorCkptMessage;

/// <summary>A node's ranks loaded: seconds, and one line per difference (empty when bit-exact).</summary>
/// <param name="Seconds">Load time.</param>
/// <param name="Problems">Differences or the failure.</param>
/// <remarks>A wire message: an agent's answer to the driver, in another process.</remarks>
internal sealed record DemoLoadDone(double Seconds, string[] Problems) : IActorCkptMessage;

/// <summary>Leave the cluster and stop the node's process.</summary>
/// <remarks>A wire message: sent by the demo's driver to each rank node's agent, another process.</remarks>
internal sealed record StopNode : IActorCkptMessage;

using System.Runtime.ExceptionServices;
using Akka.Actor;
using ActorCkpt.Io;

namespace ActorCkpt.Actors;

/// <summary>
/// The ActorCkpt actors of one node on an existing <see cref="ActorSystem"/>: the planner, a
/// writer pool, and a shard actor per local rank (created on first use). The host-facing
/// <c>Checkpointer</c> wraps this; tests use it directly.
/// </summary>
public sealed class CheckpointNode
{
    private readonly ActorSystem _system;
    private readonly Dictionary<int, IActorRef> _shards = new();
    private readonly object _lock = new();

    private CheckpointNode(ActorSystem system, CheckpointStore store, ActorCkptSettings settings, IActorRef planner, IActorRef writers)
    {
        _system = system;
        Store = store;
        Settings = settings;
        Planner = planner;
        WriterPool = writers;
    }

    /// <summary>The checkpoints this node saves to and loads from.</summary>
    public CheckpointStore Store { get; }

    /// <summary>The settings in force.</summary>
    public ActorCkptSettings Settings { get; }

    /// <summary>The planner actor.</summary>
    public IActorRef Planner { get; }

    /// <summary>The writer pool (parent and supervisor of the writers).</summary>
    public IActorRef WriterPool { get; }

    /// <summary>
    /// Starts the planner and a writer pool over <paramref name="blobs"/>. Actor names carry
    /// <paramref name="name"/> so several nodes can share one actor system in tests.
    /// </summary>
    public static CheckpointNode Start(ActorSystem system, IBlobStore blobs, ActorCkptSettings? settings = null, string name = "actorckpt")
    {
        settings ??= ActorCkptSettings.Create(system);
        var store = new CheckpointStore(blobs);
        var planner = system.ActorOf(PlannerActor.Props(store, settings), $"{name}-planner");
        var writers = system.ActorOf(WriterPoolActor.Props(blobs, settings, planner), $"{name}-writers");
        return new CheckpointNode(system, store, settings, planner, writers) { Name = name };
    }

    private string Name { get; init; } = "actorckpt";

    /// <summary>The shard actor of <paramref name="rank"/>, started on first use.</summary>
    public IActorRef Shard(int rank)
    {
        lock (_lock)
        {
            if (!_shards.TryGetValue(rank, out var shard))
                _shards[rank] = shard = _system.ActorOf(ShardActor.Props(rank, Planner, Store, Settings), $"{Name}-shard-{rank}");
            return shard;
        }
    }

    /// <summary>Starts saving <paramref name="state"/> as step <paramref name="step"/>; returns at once with the save's handle.</summary>
    public SaveHandle Save(long step, RankState state)
    {
        var handle = new SaveHandle(step, state.Rank);
        Shard(state.Rank).Tell(new SaveShard(step, state, handle));
        return handle;
    }

    /// <summary>
    /// Loads step <paramref name="step"/> (the newest committed when null) into
    /// <paramref name="target"/>'s tensors, resharding as needed. Throws the load's own exception.
    /// The target's tensors must stay alive until the load ends: when <paramref name="timeout"/>
    /// passes first, this throws but the load may still be filling them.
    /// </summary>
    public async Task<LoadResult> LoadAsync(RankState target, long? step = null, bool allowPartial = false, TimeSpan? timeout = null)
    {
        var reply = await Shard(target.Rank).Ask<IActorCkptMessage>(new LoadShard(step, target, allowPartial), timeout ?? TimeSpan.FromMinutes(30));
        switch (reply)
        {
            case LoadShardSuccess success:
                return success.Result;
            case LoadShardFailure failure:
                ExceptionDispatchInfo.Capture(failure.Cause).Throw();
                throw failure.Cause;
            default:
                throw new InvalidOperationException($"unexpected reply {reply.GetType().Name} to a load");
        }
    }
}

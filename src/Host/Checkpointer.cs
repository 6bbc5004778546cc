using Akka.Actor;
using ActorCkpt.Actors;
using ActorCkpt.Host.Training;
using ActorCkpt.Io;
using ActorCkpt.Planner;

namespace ActorCkpt.Host;

/// <summary>
/// What a training host holds: an ActorCkpt node (its own actor system, planner, writer pool and
/// one shard actor per local rank) saving to and loading from one checkpoint directory.
/// </summary>
/// <example>
/// <code>
/// await using var ckpt = Checkpointer.Start("/checkpoints/run1");
/// var handle = ckpt.SaveAsync(step, state);   // state: this rank's RankState
/// await handle.Staged;                   // tensors are in host memory: keep training
/// ...
/// await handle.Committed;                // durable
/// </code>
/// </example>
public sealed class Checkpointer : ICheckpointer, IAsyncDisposable
{
    private readonly ActorSystem _system;
    private readonly CheckpointNode _node;

    private Checkpointer(ActorSystem system, CheckpointNode node)
    {
        _system = system;
        _node = node;
    }

    /// <summary>The checkpoints under the directory.</summary>
    public CheckpointStore Store => _node.Store;

    /// <summary>The settings in force.</summary>
    public ActorCkptSettings Settings => _node.Settings;

    /// <summary>The newest committed step, or null.</summary>
    public long? LatestStep => _node.Store.LatestStep();

    /// <summary>
    /// Starts a node over <paramref name="directory"/>. <paramref name="hocon"/> overrides the
    /// configuration (for example <c>actorckpt.writer.pool-size = 8</c>); <paramref name="wrapStore"/>
    /// lets tests put a fault-injecting store in front of the disk.
    /// </summary>
    public static Checkpointer Start(string directory, string? hocon = null, Func<IBlobStore, IBlobStore>? wrapStore = null)
    {
        var config = ActorCkptConfig.WithCatalog(NodeConfig.Build(hocon), directory);
        var settings = ActorCkptSettings.Create(config);
        IBlobStore blobs = new LocalBlobStore(directory);
        if (wrapStore is not null) blobs = wrapStore(blobs);
        var system = ActorSystem.Create("actorckpt", config);
        return new Checkpointer(system, CheckpointNode.Start(system, blobs, settings));
    }

    /// <summary>
    /// Starts saving this rank's <paramref name="state"/> as <paramref name="step"/> and returns at
    /// once: await <see cref="SaveHandle.Staged"/> before changing the tensors, and
    /// <see cref="SaveHandle.Committed"/> (or <see cref="FinalizeAsync"/>) for durability. How many
    /// saves may be in flight, and what happens past that, is <c>actorckpt.async</c>.
    /// </summary>
    public SaveHandle SaveAsync(long step, RankState state) => _node.Save(step, state);

    /// <summary>
    /// Starts saving this rank's <paramref name="state"/> as <paramref name="step"/> in place: the
    /// writers read contiguous CPU tensors where they are instead of a staged copy, so the save
    /// needs no host memory beyond the state's own, and the tensors must stay unchanged until
    /// <see cref="SaveHandle.Committed"/>. For synchronous saves (await Committed at once), as
    /// PyTorch DCP's <c>save</c> writes from the tensors themselves.
    /// </summary>
    public SaveHandle SaveInPlaceAsync(long step, RankState state) => _node.Save(step, state, inPlace: true);

    /// <summary>
    /// Starts saving the <paramref name="parts"/> (model, optimizer, scheduler, RNG, counters) of rank
    /// <paramref name="rank"/> among <paramref name="worldSize"/> as <paramref name="step"/>; as
    /// <see cref="SaveAsync(long, RankState)"/>, the tensors may change once <see cref="SaveHandle.Staged"/> completes.
    /// </summary>
    public SaveHandle SaveAsync(long step, int rank, int worldSize, IEnumerable<IStateful> parts)
    {
        var state = new RankState(rank, worldSize);
        foreach (var part in parts) part.Save(state);
        return SaveAsync(step, state);
    }

    /// <summary>How the saves that ended since the last call ended; with <paramref name="blocking"/>, after every save in flight has ended.</summary>
    public Task<IReadOnlyList<SaveOutcome>> FinalizeAsync(bool blocking) => _node.FinalizeAsync(blocking);

    /// <summary>True when no rank has a save in flight: the same answer on all <paramref name="worldSize"/> ranks, each of which must ask.</summary>
    public Task<bool> IsQueueEmptyAsync(int rank, int worldSize, TimeSpan timeout) => _node.IsQueueEmptyAsync(rank, worldSize, timeout);

    /// <summary>The node's staging buffers (their budget is <c>actorckpt.staging.budget</c>).</summary>
    public StagingPool StagingPool => _node.StagingPool;

    /// <summary>
    /// Loads step <paramref name="step"/> (the newest when null) into <paramref name="target"/>,
    /// resharding as needed; mismatched keys are handled as <paramref name="strict"/> says
    /// (default: <c>actorckpt.load.strict</c>). <paramref name="progress"/> hears, as each read
    /// completes, the destination bytes it filled (from the reading threads).
    /// </summary>
    public Task<LoadResult> LoadAsync(RankState target, long? step = null, StrictHandling? strict = null, IProgress<long>? progress = null) =>
        _node.LoadAsync(target, step, strict, progress: progress);

    /// <summary>
    /// Loads step <paramref name="step"/> (the newest committed when null) into the
    /// <paramref name="parts"/> of rank <paramref name="rank"/> among <paramref name="worldSize"/>:
    /// tensors in place, resharded to this rank's slices, then each part's other entries.
    /// Throws <see cref="CheckpointNotFoundException"/> when there is no such step.
    /// <paramref name="progress"/> hears the destination bytes each read filled.
    /// </summary>
    public async Task<LoadResult> LoadAsync(int rank, int worldSize, IEnumerable<IStateful> parts, long? step = null, StrictHandling? strict = null, IProgress<long>? progress = null)
    {
        var resolved = Store.ResolveStep(step);
        var metadata = Store.ReadMetadata(resolved);
        var target = new RankState(rank, worldSize);
        var list = parts.ToList();
        foreach (var part in list) part.PrepareLoad(target, metadata);
        var result = await LoadAsync(target, resolved, strict, progress);
        foreach (var part in list) part.Restore(result);
        return result;
    }

    /// <summary>Removes uncommitted debris and applies retention now; completes once the deleted steps' files are gone.</summary>
    public Task<GarbageCollected> CollectGarbageAsync(TimeSpan timeout) => _node.Planner.Ask<GarbageCollected>(new CollectGarbage(), timeout);

    /// <summary>The catalog: every step a save began, and where it stands.</summary>
    public async Task<IReadOnlyList<CatalogEntry>> ReadCatalogAsync(TimeSpan timeout) =>
        (await _node.Planner.Ask<CatalogRead>(new ReadCatalog(), timeout)).Entries;

    /// <summary>Stops the node's actor system.</summary>
    public async ValueTask DisposeAsync() => await _system.Terminate();
}

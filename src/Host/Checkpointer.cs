using Akka.Actor;
using Akka.Configuration;
using Akka.Event;

namespace ActorCkpt;

/// <summary>
/// An ActorCkpt node for scripts and one-process training: its own actor system, planner, writer
/// pool and one shard actor per local rank, saving to and loading from one checkpoint root. A host
/// that runs an ActorSystem of its own uses <c>WithActorCkpt</c> (namespace <c>ActorCkpt.Hosting</c>) instead.
/// </summary>
/// <example>
/// <code>
/// await using var ckpt = Checkpointer.Start("/checkpoints/run1");
/// var result = await ckpt.SaveAsync(step, state);        // committed
/// var handle = await ckpt.StartSaveAsync(step, state);   // staged: keep training
/// await handle;                                          // committed
/// </code>
/// </example>
public sealed class Checkpointer : ICheckpointer, IAsyncDisposable
{
    private readonly ActorSystem _system;
    private readonly CheckpointNode _node;
    private readonly bool _ownsSystem;

    // A test's fault-injecting store: stopped first when disposing, so that writes it holds end at once.
    private readonly IDisposable? _testStore;
    private readonly CancellationTokenSource _stopped = new();
    // The wait for the saves in flight at the stop: by the dispose, or by a shutdown that came first.
    private Task? _savesFinished;

    private Checkpointer(ActorSystem system, CheckpointNode node, bool ownsSystem, IDisposable? testStore = null)
    {
        _system = system;
        _node = node;
        _ownsSystem = ownsSystem;
        _testStore = testStore;
        system.WhenTerminated.ContinueWith(_ => _stopped.Cancel(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        // A one-process program that ends without disposing (Main returned: Akka runs its coordinated
        // shutdown on ProcessExit; or SIGTERM) waits for its saves in flight as a dispose does. Before, an
        // async save in flight then was cut off without a word, as PyTorch's would not be. Not a cluster
        // node: its leave on SIGTERM must not wait a minute past a pod's grace period.
        if (ownsSystem && !system.IsClustered())
            CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseBeforeServiceUnbind, "actorckpt-finish-saves", async () =>
            {
                await FinishSavesAsync("the process is stopping", "the process stopped without disposing the checkpointer (Akka's coordinated shutdown)");
                return Akka.Done.Instance;
            });
    }

    /// <summary>
    /// Refuses new saves (saying <paramref name="refusal"/>) and waits for those in flight to end, up to
    /// <c>actorckpt.async.finish-on-dispose</c>; past it they are cut off, saying <paramref name="stopped"/>. Once per checkpointer.
    /// </summary>
    private Task FinishSavesAsync(string refusal, string stopped)
    {
        lock (_stopped) return _savesFinished ??= Finish();

        async Task Finish()
        {
            var wait = _node.Settings.FinishOnDispose;
            if (_system.WhenTerminated.IsCompleted) return;
            // Writes a test holds end now.
            _testStore?.Dispose();
            // With 0s too: a save started now is refused saying so, and one in flight is cut off saying
            // that the catalog tells whether it committed (before, it heard only that its shard actor stopped).
            _node.RefuseNewSaves(refusal);
            var ended = _node.SavesEndedAsync();
            if (wait > TimeSpan.Zero ? await Task.WhenAny(ended, Task.Delay(wait)) != ended : !ended.IsCompleted)
            {
                if (wait > TimeSpan.Zero)
                    _system.Log.Warning("ActorCkpt: saves were still in flight {0} after the stop began (actorckpt.async.finish-on-dispose); stopping without them", wait);
                _node.CutOffSaves($"{stopped}, and actorckpt.async.finish-on-dispose ({wait.TotalSeconds:0.###}s) ran out before this save ended");
            }
        }
    }

    /// <summary>
    /// Cancelled once the node has stopped: its actor system terminated, whether disposed, left the
    /// cluster on a termination signal (Akka leaves on SIGTERM and Ctrl-C, and in a cluster does not
    /// end the process), or was downed by the cluster. Every later call that needs the node fails
    /// saying so; two answer from what is known without it: <see cref="GetLatestStepAsync"/> (from the
    /// root's directories), and <see cref="FinalizeAsync"/> (the outcomes of
    /// the saves it had). A program that has nothing else to stop it waits on this (<c>await Task.Delay(Timeout.Infinite, ckpt.Stopped)</c>).
    /// </summary>
    public CancellationToken Stopped => _stopped.Token;

    /// <summary>The checkpoints under the root.</summary>
    internal CheckpointStore Store => _node.Store;

    /// <summary>The settings in force.</summary>
    internal ActorCkptSettings Settings => _node.Settings;

    /// <summary>The node's staging buffers (their budget is <c>actorckpt.staging.budget</c>).</summary>
    internal StagingPool StagingPool => _node.StagingPool;

    /// <summary>The node underneath, for the tool and tests.</summary>
    internal CheckpointNode Node => _node;

    /// <summary>The actor system the node runs in.</summary>
    internal ActorSystem System => _system;

    /// <summary>
    /// The newest committed step under the root as its directories show it, or null; the catalog's word,
    /// which loads go by, is <see cref="GetLatestStepAsync"/>.
    /// </summary>
    public long? LatestStep => _node.Store.LatestStep();

    /// <summary>Starts a one-process checkpointer over <paramref name="root"/> with the default settings.</summary>
    public static Checkpointer Start(string root) => Start(new CheckpointerOptions { Root = root });

    /// <summary>
    /// Starts a checkpointer as <paramref name="options"/> say; on a cluster this blocks until the
    /// node has joined (see <see cref="StartAsync"/>). Throws naming what is wrong in the options.
    /// </summary>
    public static Checkpointer Start(CheckpointerOptions options) =>
        // On the thread pool: a caller's single-threaded synchronization context would deadlock the wait.
        Task.Run(() => StartAsync(options)).GetAwaiter().GetResult();

    /// <summary>
    /// Starts a checkpointer as <paramref name="options"/> say. With <see cref="CheckpointerOptions.Cluster"/>
    /// it joins the seed nodes (or forms a cluster alone) and completes once this node is up. The start
    /// (the catalog's recovery and the warm-up's first writes) runs on the thread pool: the caller's
    /// thread is not held, and a test can act on a write held during the start while it waits.
    /// </summary>
    public static async Task<Checkpointer> StartAsync(CheckpointerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var ckpt = await Task.Run(() => StartUnjoined(options), cancellationToken).ConfigureAwait(false);
        if (options.Cluster is null) return ckpt;
        try
        {
            await CheckpointerConfig.JoinAsync(ckpt._system, options.Cluster, cancellationToken);
            return ckpt;
        }
        catch
        {
            await ckpt.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Starts the node <paramref name="options"/> describe without joining its cluster (the caller
    /// joins it, see <see cref="CheckpointerConfig.JoinAsync"/>): ActorCkpt.TestKit starts every
    /// node of a test cluster first, then all their joins at once.
    /// </summary>
    internal static Checkpointer StartUnjoined(CheckpointerOptions options) =>
        Start(options.Root, CheckpointerConfig.Build(options), options.Cluster?.SystemName ?? CheckpointerConfig.SystemName, options.WrapStore);

    /// <summary>
    /// Starts a one-process checkpointer over <paramref name="directory"/> with <paramref name="hocon"/>
    /// over the defaults; <paramref name="wrapStore"/> lets tests put a fault-injecting store in front of the disk.
    /// </summary>
    internal static Checkpointer Start(string directory, string? hocon, Func<IBlobStore, IBlobStore>? wrapStore = null) =>
        Start(directory, NodeConfig.Build(hocon), CheckpointerConfig.SystemName, wrapStore);

    private static Checkpointer Start(string directory, Config config, string systemName, Func<IBlobStore, IBlobStore>? wrapStore)
    {
        config = ActorCkptConfig.WithCatalog(config, directory);
        config = NodeWarmUp.WithJournal(config);
        var settings = ActorCkptSettings.Create(config);
        var clustered = config.GetString("akka.actor.provider", "").Contains("cluster", StringComparison.OrdinalIgnoreCase);
        // A shutdown's wait for the saves in flight (see the constructor) is finish-on-dispose's, not the phase's 5 s default.
        const string finishPhase = "akka.coordinated-shutdown.phases.before-service-unbind.timeout";
        if (!config.HasPath(finishPhase) && settings.FinishOnDispose > TimeSpan.Zero && !clustered)
            config = ConfigurationFactory.ParseString($"{finishPhase} = {(long)(settings.FinishOnDispose + TimeSpan.FromSeconds(5)).TotalMilliseconds}ms").WithFallback(config);
        IBlobStore blobs = BlobStores.Open(directory, settings.ObjectStore);
        // The planner will run here: a root another checkpointer holds is refused now, naming the holder, not at the first save.
        if (!clustered) CatalogLock.EnsureFree(blobs);
        if (wrapStore is not null) blobs = wrapStore(blobs);
        if (clustered) RemotingPort.EnsureFree(config, "CheckpointClusterOptions.Port (akka.remote.dot-netty.tcp.port)");
        var system = ActorSystem.Create(systemName, config);
        if (wrapStore is not null) StopWithSystem(system, blobs);
        try
        {
            var node = CheckpointNode.Start(system, blobs, settings);
            // The first save then costs what later ones do (see CheckpointNode.WarmUpAsync). Waited for
            // on the thread pool: a caller's single-threaded synchronization context would deadlock it.
            Task.Run(() => node.WarmUpAsync(settings.PlanTimeout)).GetAwaiter().GetResult();
            // A planner that could not start (its journal, or a lock another process took since the check above) is one error now.
            if (!system.IsClustered() && Task.Run(() => node.PlannerGaveUpAsync(settings.PlanTimeout)).GetAwaiter().GetResult() is { } why)
                throw new ActorCkptException(why);
            return new Checkpointer(system, node, ownsSystem: true, wrapStore is not null ? blobs as IDisposable : null);
        }
        catch
        {
            system.Terminate().Wait();
            throw;
        }
    }

    /// <summary>
    /// A store a caller's wrapper made for this node (a test's fault-injecting one) that holds
    /// writes is disposed just before <paramref name="system"/> terminates, or as it stops when its
    /// termination skips the coordinated shutdown (<see cref="StoreStopActor"/>): its held and delayed
    /// writes end then, instead of keeping a writer's thread, and the termination, waiting.
    /// </summary>
    internal static void StopWithSystem(ActorSystem system, IBlobStore blobs)
    {
        if (blobs is not IDisposable owned) return;
        CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseBeforeActorSystemTerminate, "actorckpt-stop-store", () =>
        {
            owned.Dispose();
            return Task.FromResult(Akka.Done.Instance);
        });
        system.ActorOf(StoreStopActor.Props(owned));
    }

    /// <summary>A checkpointer over <paramref name="blobs"/> in an actor system someone else owns (the Akka.Hosting path); disposing it leaves the system running.</summary>
    internal static Checkpointer Attach(ActorSystem system, IBlobStore blobs, ActorCkptSettings settings) =>
        new(system, CheckpointNode.Start(system, blobs, settings), ownsSystem: false);

    /// <inheritdoc />
    public async Task<long?> GetLatestStepAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        // A stopped node has no planner to ask; the root's directories still tell.
        if (_system.WhenTerminated.IsCompleted) return LatestStep;
        // The planner's word, as a load of the newest step has it: a committed step whose files are gone
        // still counts (loading it fails, where an older step would pass for the newest), a directory the
        // planner refused does not, the memory and object tiers' steps are there and not under the root,
        // and a memory step whose holders are gone gives way to the older step a load would read.
        LatestStepResolved resolved;
        try
        {
            resolved = await AskPlannerAsync<LatestStepResolved>(new ResolveLatestStep(Settings.MemoryTier.Enabled ? Settings.MemoryTier.Host : null),
                "the newest step", cancellationToken);
        }
        catch (ActorCkptException) when (_system.WhenTerminated.IsCompleted)
        {
            // It stopped while asked: as above.
            return LatestStep;
        }
        // A stand-in planner (a read-only root, or a planner that gave up) has no catalog: loads read the disk then, and so does this.
        return resolved.FromCatalog ? resolved.Step : LatestStep;
    }

    /// <inheritdoc />
    public Task<SaveResult> SaveAsync(long step, RankState state, CancellationToken cancellationToken = default) =>
        _node.Save(step, state, cancellation: cancellationToken).Committed;

    /// <inheritdoc />
    public async Task<SaveHandle> StartSaveAsync(long step, RankState state, CancellationToken cancellationToken = default)
    {
        var handle = _node.Save(step, state, cancellation: cancellationToken);
        await handle.Staged;
        return handle;
    }

    /// <inheritdoc />
    public Task<SaveResult> SaveAsync(long step, RankState state, SaveTier tier, CancellationToken cancellationToken = default) =>
        _node.Save(step, state, cancellation: cancellationToken, tier: tier).Committed;

    /// <inheritdoc />
    public async Task<SaveHandle> StartSaveAsync(long step, RankState state, SaveTier tier, CancellationToken cancellationToken = default)
    {
        var handle = _node.Save(step, state, cancellation: cancellationToken, tier: tier);
        await handle.Staged;
        return handle;
    }

    /// <inheritdoc />
    public Task<SaveResult> SaveInPlaceAsync(long step, RankState state, CancellationToken cancellationToken = default) =>
        _node.Save(step, state, inPlace: true, cancellation: cancellationToken).Committed;

    /// <inheritdoc />
    public async Task<SaveResult> SaveAsync(long step, int rank, int worldSize, IEnumerable<IStateful> parts, CancellationToken cancellationToken = default) =>
        await SaveAsync(step, PartsToSave(step, rank, worldSize, parts), cancellationToken);

    /// <inheritdoc />
    public async Task<SaveHandle> StartSaveAsync(long step, int rank, int worldSize, IEnumerable<IStateful> parts, CancellationToken cancellationToken = default) =>
        await StartSaveAsync(step, PartsToSave(step, rank, worldSize, parts), cancellationToken);

    /// <summary>
    /// The state of <paramref name="parts"/>; when making it throws (a part that fails, a spec that does not
    /// fit), the other ranks' saves of the step abort at once naming this rank and the error, as when a
    /// <see cref="RankState"/> cannot be staged, and the caller's save faults with it.
    /// </summary>
    private RankState PartsToSave(long step, int rank, int worldSize, IEnumerable<IStateful> parts)
    {
        try
        {
            return StatefulParts.ToSave(rank, worldSize, parts);
        }
        catch (Exception e)
        {
            _node.AbortUnbuilt(step, rank, worldSize, e);
            throw;
        }
    }

    /// <summary>Starts a save and returns its handle at once, before staging (for the tool and tests that watch staging themselves).</summary>
    internal SaveHandle BeginSave(long step, RankState state, bool inPlace = false, CancellationToken cancellationToken = default) =>
        _node.Save(step, state, inPlace, cancellationToken);

    /// <inheritdoc />
    public Task<LoadResult> LoadAsync(RankState target, long? step = null, StrictHandling? strict = null, IProgress<long>? progress = null,
        CancellationToken cancellationToken = default) =>
        _node.LoadAsync(target, step, strict, progress: progress, cancellation: cancellationToken);

    /// <inheritdoc />
    public async Task<LoadResult> LoadAsync(int rank, int worldSize, IEnumerable<IStateful> parts, long? step = null, StrictHandling? strict = null,
        IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(parts);
        var list = parts.ToList();
        var result = await _node.LoadAsync(rank, metadata => StatefulParts.ToLoad(rank, worldSize, list, metadata), step, strict, progress, cancellationToken,
            check: entries => StatefulParts.CheckRestore(list, entries));
        foreach (var part in list) part.Restore(result);
        return result;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<SaveOutcome>> FinalizeAsync(bool blocking, CancellationToken cancellationToken = default) =>
        _node.FinalizeAsync(blocking, cancellationToken);

    /// <inheritdoc />
    public Task WaitForUploadsAsync(CancellationToken cancellationToken = default) =>
        _node.WaitForUploadsAsync(Timeout.InfiniteTimeSpan, cancellationToken);

    /// <inheritdoc />
    public Task<bool> IsQueueEmptyAsync(int rank, int worldSize, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        _node.IsQueueEmptyAsync(rank, worldSize, timeout, cancellationToken);

    /// <inheritdoc />
    public async Task<IReadOnlyList<CatalogEntry>> ReadCatalogAsync(CancellationToken cancellationToken = default) =>
        (await AskPlannerAsync<CatalogRead>(new ReadCatalog(), "the catalog", cancellationToken)).Entries;

    /// <summary>
    /// The planner's answer to <paramref name="request"/> for <paramref name="what"/>, waited for up to the plan
    /// timeout: past it, a <see cref="TimeoutException"/> naming the request and the setting, not Akka's bare one.
    /// </summary>
    private async Task<T> AskPlannerAsync<T>(IActorCkptMessage request, string what, CancellationToken cancellationToken)
    {
        try
        {
            return await _node.UnlessStopped(() => _node.Planner.Ask<T>(request, Settings.PlanTimeout, cancellationToken), $"before the planner told {what}");
        }
        catch (AskTimeoutException e)
        {
            throw new TimeoutException($"the checkpoint planner did not tell {what} within {Settings.PlanTimeout.TotalSeconds:0.###} s (actorckpt.planner.plan-timeout)", e);
        }
    }

    /// <summary>
    /// Removes uncommitted debris and applies retention now, keeping no more than the newest <paramref name="keepLast"/>
    /// committed steps this time when given; completes once the deleted steps' files are gone.
    /// </summary>
    internal Task<GarbageCollected> CollectGarbageAsync(TimeSpan timeout, int? keepLast = null) => _node.Planner.Ask<GarbageCollected>(new CollectGarbage(keepLast), timeout);

    /// <summary>
    /// Waits (up to 5 s) for the journal writes the planner has asked for, by asking it something: a command
    /// waits behind them. Terminated under one, the catalog's SQLite file was written after the dispose
    /// had returned (a test that then deleted the root found it not empty). Only where the planner runs here.
    /// </summary>
    internal async Task JournalWritesEndedAsync()
    {
        if (_system.IsClustered() || _system.WhenTerminated.IsCompleted) return;
        try
        {
            // A system another dispose terminates meanwhile stops the planner: its end is the answer then.
            await _node.UnlessStopped(() => _node.Planner.Ask(new ReadCatalog(), TimeSpan.FromSeconds(5)), "before the journal writes ended");
        }
        catch (Exception e) when (e is AskTimeoutException or ActorCkptException)
        {
            // A planner that no longer answers, or no longer runs, has no write to wait for.
        }
    }

    /// <summary>
    /// Stops the node: its actor system when it started one (a system it was attached to keeps running).
    /// A node that started its own system first refuses new saves and waits for those in flight to end,
    /// up to <c>actorckpt.async.finish-on-dispose</c> (a minute by default).
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (!_ownsSystem) return;
        // As a host's shutdown does: new saves are refused and the ones in flight end first, so that an
        // async save's last checkpoint commits (and its caller hears so) instead of being cut off with its outcome unknown.
        await FinishSavesAsync("the checkpointer is being disposed", "the checkpointer was disposed");
        await JournalWritesEndedAsync();
        await _system.Terminate();
        // At once, not when the termination's continuation runs.
        _stopped.Cancel();
    }
}

using System.Runtime.ExceptionServices;
using Akka.Actor;
using Akka.Event;
using Akka.Cluster.Tools.Singleton;

namespace ActorCkpt;

/// <summary>
/// The ActorCkpt actors of one node on an existing <see cref="ActorSystem"/>. On a plain actor
/// system: the planner, a writer pool, and a shard actor per local rank (created on first use).
/// On a cluster node, by role (<see cref="ClusterRoles"/>): the planner as a cluster singleton
/// (reached everywhere through a proxy), a writer pool where the role is writer, shard actors
/// where the role is rank. The host-facing <c>Checkpointer</c> wraps this; tests use it directly.
/// </summary>
internal sealed class CheckpointNode
{
    private readonly ActorSystem _system;
    // Per rank, one shard actor per save that may be in flight, with the last save it was given.
    private readonly Dictionary<int, List<(IActorRef Shard, SaveHandle? Last)>> _slots = new();
    private readonly SaveOutcomes _unfinalized = new();
    private readonly Dictionary<int, long> _queueRounds = new();
    private readonly HashSet<int> _queueAsking = new();
    private readonly object _lock = new();
    private readonly NodeNotice _cutOff = new(); // why saves in flight were cut off (CutOffSaves)
    private readonly NodeNotice _left = new(); // why this node is no longer a member of its cluster
    // Saves sent with a cancellation token, by rank, with their slot, until their shard actor is done
    // with them: one whose caller heard it cancelled may linger there (SaveHandle.Lingering), and a
    // save of its step must go behind it, even once FinalizeAsync has taken its outcome.
    private readonly Dictionary<int, List<(int Slot, SaveHandle Handle)>> _cancellable = new();
    private string? _closing;
    private readonly string _name;
    private readonly bool _hostsRanks;

    private CheckpointNode(ActorSystem system, CheckpointStore store, ActorCkptSettings settings, IActorRef planner, IActorRef writers, string name, bool hostsRanks,
        ReplicaStore? replicas = null)
    {
        Replicas = replicas;
        _system = system;
        StagingPool = new StagingPool(settings.StagingBudget);
        SharedReads = new SharedReads(settings.SharedReadBudget);
        TerminationHooks.Register(system, StagingPool.Dispose);
        // A save still in flight when the system goes can never end otherwise.
        TerminationHooks.Register(system, FailUnfinished);
        Store = store;
        Settings = settings;
        Planner = planner;
        WriterPool = writers;
        _name = name;
        _hostsRanks = hostsRanks;
    }

    // The planner singleton's settings in code, not in the system's configuration, which in a host's
    // own ActorSystem belongs to the host's singletons too.
    private const string PlannerSingletonName = "planner";

    /// <summary>The name of a node's actors unless a test gives another.</summary>
    public const string DefaultName = "actorckpt";

    /// <summary>
    /// The persistence id of the catalog of <paramref name="store"/>'s root for nodes named
    /// <paramref name="name"/>: the root's id is part of it, so two jobs sharing one catalog
    /// database never replay each other's catalog.
    /// </summary>
    public static string CatalogId(CheckpointStore store, string name = DefaultName) => $"{name}-catalog-{store.RootId()}";

    /// <summary>The node's staging buffers, shared by its ranks within <see cref="ActorCkptSettings.StagingBudget"/>.</summary>
    public StagingPool StagingPool { get; }

    /// <summary>The reads its ranks share when they load the same step at once, within <see cref="ActorCkptSettings.SharedReadBudget"/>.</summary>
    public SharedReads SharedReads { get; }

    /// <summary>The checkpoints this node saves to and loads from.</summary>
    public CheckpointStore Store { get; }

    /// <summary>The settings in force.</summary>
    public ActorCkptSettings Settings { get; }

    /// <summary>The planner, or in a cluster the proxy of the planner singleton.</summary>
    public IActorRef Planner { get; }

    /// <summary>Where the shard actors started from now on send to the planner (a test's stand-in in between); <see cref="Planner"/> when null.</summary>
    internal IActorRef? ShardsPlanner { get; set; }

    /// <summary>The writer pool (parent and supervisor of the writers); <see cref="ActorRefs.Nobody"/> on a node without the writer role.</summary>
    public IActorRef WriterPool { get; }

    /// <summary>
    /// This host's tmpfs replica store, where the node's writers put memory-tier files and its reader
    /// serves them from; null when the memory tier is off or the node hosts no writers.
    /// </summary>
    internal ReplicaStore? Replicas { get; }

    /// <summary>
    /// Starts the node's actors over <paramref name="blobs"/>. Actor names start with
    /// <paramref name="name"/> so several nodes can share one actor system in tests; nodes of one
    /// cluster must use the same name. The planner journals its catalog as "<paramref name="name"/>-catalog"
    /// in the plugins <see cref="ActorCkptConfig.WithCatalog"/> configures: the system must have been
    /// created with that configuration.
    /// </summary>
    public static CheckpointNode Start(ActorSystem system, IBlobStore blobs, ActorCkptSettings? settings = null, string name = DefaultName)
    {
        settings ??= ActorCkptSettings.Create(system);
        // The root's store, opened with these settings, says here when it sends a request again.
        ObjectStoreNoticeLog.Attach(system, settings.ObjectStore);
        if (settings.ObjectTier.Enabled && ObjectTierRoot.Problem(settings.ObjectTier.Root, blobs.Root) is { } tierProblem)
            throw new Akka.Configuration.ConfigurationException(tierProblem);
        // Akka would fail only when the first actor on it starts: the planner's start, or a writer's,
        // minutes later. Checked where those actors run (a cluster node has its roles' only).
        var hosts = system.IsClustered() ? Akka.Cluster.Cluster.Get(system).SelfRoles : null;
        foreach (var (key, dispatcher, role) in new[] { ("actorckpt.writer.dispatcher", settings.WriterDispatcher, ClusterRoles.Writer), ("actorckpt.planner.dispatcher", settings.PlannerDispatcher, ClusterRoles.Planner) })
            if ((hosts is null || hosts.Contains(role)) && !string.IsNullOrEmpty(dispatcher))
            {
                if (!system.Dispatchers.HasDispatcher(dispatcher))
                    throw new Akka.Configuration.ConfigurationException($"{key} = '{dispatcher}': actor system '{system.Name}' has no dispatcher of that name");
                // A dispatcher of a type that cannot be made is named by Akka only as each actor on it fails to start.
                try
                {
                    system.Dispatchers.Lookup(dispatcher);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    throw new Akka.Configuration.ConfigurationException($"{key} = '{dispatcher}': the dispatcher cannot be made: {e.GetBaseException().Message}");
                }
            }
        // Writes straight or through a buffer: decided once per process, in the background (copying until then).
        _ = KernelAccess.Configure(settings.CopyWrites);
        if (string.IsNullOrEmpty(system.Settings.Config.GetString(ActorCkptConfig.JournalPluginId + ".connection-string")))
            throw new Akka.Configuration.ConfigurationException(
                $"actor system '{system.Name}' has no catalog journal configured: create it with ActorCkptConfig.WithCatalog(config, root)");
        var store = new CheckpointStore(blobs);
        // Nothing can be saved or deleted on a read-only root: loads need no lease, and a stand-in refuses every save at once.
        // (Another root's object tier is refused here, by the lock, before a lock file or catalog is made there.)
        // A cluster node does not try the lock here: taking it even for a moment could let a
        // checkpointer elsewhere find the root free while the singleton is about to hold it.
        var readOnly = system.IsClustered() ? null : CatalogLock.WhyReadOnly(blobs);
        var journals = !system.IsClustered() || Akka.Cluster.Cluster.Get(system).SelfRoles.Contains(ClusterRoles.Planner);
        var provider = system.Settings.Config.GetString(ActorCkptConfig.JournalPluginId + ".provider-name");
        // An object-store root's catalog lives in its local state directory, made on first use (a reader makes none).
        if (journals && blobs is ObjectBlobStore objects) objects.MakeStateDirectory();
        if (provider == "SQLite.MS" && journals && CatalogFile.KeptElsewhere(system.Settings.Config, blobs) is { } elsewhere)
            throw new Akka.Configuration.ConfigurationException(elsewhere);
        if (provider == "SQLite.MS" && journals)
            CatalogFile.Verify(system.Settings.Config.GetString(ActorCkptConfig.JournalPluginId + ".connection-string"),
                ActorCkptConfig.RebuildCommand(system.Settings.Config, blobs.Root), mustBeCreatable: !system.IsClustered() && readOnly is null);
        else if (provider.StartsWith("PostgreSQL", StringComparison.Ordinal) && journals)
            CatalogServer.Verify(system.Settings.Config.GetString(ActorCkptConfig.JournalPluginId + ".connection-string"));
        // One process is one host: a memory round there would wait for hosts that never come.
        if (!system.IsClustered() && settings.MemoryTier is { Enabled: true, Replicas: > 1 } tier)
            throw new Akka.Configuration.ConfigurationException(
                $"actorckpt.tiers.memory.replicas = {tier.Replicas}: a node outside a cluster is one host and holds one copy; set replicas = 1 or join the nodes in a cluster");
        // Readers run on a cluster's writer nodes only: outside one, every load would wait out the write timeout for an answer that never comes.
        if (!system.IsClustered() && settings.LoadThroughReaders)
            throw new Akka.Configuration.ConfigurationException(
                "actorckpt.load.source = reader: a node outside a cluster runs no reader, and reads its own files; set load.source = shared or join the nodes in a cluster");
        // The channel's TLS files are read at its first transfer: a missing or bad one is refused here instead.
        if (settings.TransferOverChannel && settings.Channel.Tls is { } tls)
        {
            try
            {
                BulkTls.Check(tls);
            }
            catch (ArgumentException e)
            {
                throw new Akka.Configuration.ConfigurationException(e.Message, e);
            }
        }
        // A clustered node with writers receives other nodes' bytes on its bulk server: opened now, a
        // port in use or an address it cannot bind fails the start in one line, not every file of the
        // first save after the writers' retries.
        if (settings.TransferOverChannel && hosts is not null && hosts.Contains(ClusterRoles.Writer))
        {
            try
            {
                _ = BulkChannels.Get(system).For(settings).Server;
            }
            catch (ActorCkptException e)
            {
                throw new Akka.Configuration.ConfigurationException(e.Message, e);
            }
        }
        // Opened before any actor starts: a replica directory it cannot use then fails the start with
        // nothing running (a planner whose journal is half made logs errors as the system stops).
        var replicaStore = (hosts is null ? readOnly is null : hosts.Contains(ClusterRoles.Writer)) ? OpenReplicaStore(blobs, settings) : null;
        var poolName = $"{name}-writers";
        // Only a node that hosts the planner needs the root's id (reading it may write it).
        Props PlannerProps() => PlannerSupervisorActor.Props(store, settings, CatalogId(store, name), poolName);
        if (!system.IsClustered())
        {
            if (readOnly is { } why)
            {
                var standIn = system.ActorOf(ReadOnlyPlannerActor.Props(store, why), $"{name}-planner");
                return new CheckpointNode(system, store, settings, standIn, ActorRefs.Nobody, name, hostsRanks: true);
            }
            var planner = system.ActorOf(PlannerProps(), $"{name}-planner");
            var local = StartHolder(system, replicaStore, blobs, settings, planner, name);
            var pool = system.ActorOf(WriterPoolActor.Props(blobs, settings, planner, local), poolName);
            return new CheckpointNode(system, store, settings, planner, pool, name, hostsRanks: true, local);
        }

        var roles = Akka.Cluster.Cluster.Get(system).SelfRoles;
        if (roles.Contains(ClusterRoles.Planner))
            system.ActorOf(ClusterSingletonManager.Props(PlannerProps(), PoisonPill.Instance,
                ClusterSingletonManagerSettings.Create(system).WithRole(ClusterRoles.Planner).WithSingletonName(PlannerSingletonName)), $"{name}-planner");
        var proxy = system.ActorOf(ClusterSingletonProxy.Props($"/user/{name}-planner", ProxySettings(system)), $"{name}-planner-proxy");
        var replicas = StartHolder(system, replicaStore, blobs, settings, proxy, name);
        var writers = roles.Contains(ClusterRoles.Writer)
            ? system.ActorOf(WriterPoolActor.Props(blobs, settings, proxy, replicas), poolName)
            : ActorRefs.Nobody;
        if (roles.Contains(ClusterRoles.Writer)) system.ActorOf(ReaderActor.Props(blobs, settings, replicas), $"{name}-reader");
        var node = new CheckpointNode(system, store, settings, proxy, writers, name, roles.Contains(ClusterRoles.Rank), replicas);
        if (node._hostsRanks) system.ActorOf(MembershipWatchActor.Props(node.Downed), $"{name}-membership");
        return node;
    }

    /// <summary>
    /// The planner proxy's settings: the system's, but with the proxy's "failed to find an associated
    /// singleton" warning off in code, for this proxy alone (a host's own settings keep theirs):
    /// Akka.NET 1.5's proxy logs it even after it has identified the planner. A planner that is
    /// really missing shows as a save aborted at its plan deadline, naming why.
    /// </summary>
    private static ClusterSingletonProxySettings ProxySettings(ActorSystem system)
    {
        var s = ClusterSingletonProxySettings.Create(system);
        return new ClusterSingletonProxySettings(PlannerSingletonName, ClusterRoles.Planner, s.SingletonIdentificationInterval, s.BufferSize, s.ConsiderAppVersion,
            logSingletonIdentificationFailure: false, s.SingletonIdentificationFailurePeriod);
    }

    /// <summary>
    /// On a node that hosts writers with the memory tier on: the host's replica store for the root of
    /// <paramref name="blobs"/>, its directories made. Null with the tier off.
    /// </summary>
    internal static ReplicaStore? OpenReplicaStore(IBlobStore blobs, ActorCkptSettings settings)
    {
        var tier = settings.MemoryTier;
        if (!tier.Enabled) return null;
        try
        {
            return new ReplicaStore(tier.Directory, ReplicaLayout.Namespace(BlobStores.IsDirectory(blobs.Root) ? Path.GetFullPath(blobs.Root) : blobs.Root), tier.Host);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new Akka.Configuration.ConfigurationException($"actorckpt.tiers.memory.directory = '{tier.Directory}': the replicas cannot be kept there: {e.Message}", e);
        }
    }

    /// <summary>
    /// The holder of <paramref name="replicas"/> (<c>/user/{name}-replicas</c>), announcing it to
    /// <paramref name="planner"/>; nothing started, and null returned, without a store.
    /// </summary>
    private static ReplicaStore? StartHolder(ActorSystem system, ReplicaStore? replicas, IBlobStore blobs, ActorCkptSettings settings, IActorRef planner, string name)
    {
        if (replicas is null) return null;
        system.ActorOf(ReplicaHolderActor.Props(replicas, settings.MemoryTier, planner, blobs, $"{name}-reader", settings), $"{name}-replicas");
        return replicas;
    }

    /// <summary>The (first) shard actor of <paramref name="rank"/>, started on first use; only on nodes that host ranks. Loads go through it.</summary>
    public IActorRef Shard(int rank)
    {
        lock (_lock) return SlotsOf(rank)[0].Shard;
    }

    /// <summary>
    /// Starts saving <paramref name="state"/> as step <paramref name="step"/>; returns at once with
    /// the save's handle. Up to <see cref="ActorCkptSettings.MaxSavesInFlight"/> saves of a rank are
    /// in flight at once, each in a shard actor of its own. Past that, the save waits behind the
    /// oldest one (its Staged completes once that one has finished and the state is copied), or with
    /// <see cref="ActorCkptSettings.SkipWhenBusy"/> it is skipped, logged, and its handle says why.
    /// With <paramref name="inPlace"/>, writers read the tensors where they are (see <see cref="SaveShard.InPlace"/>).
    /// Cancelling <paramref name="cancellation"/> before the commit begins aborts the save on every
    /// rank (no metadata, its files removed); the handle then ends <see cref="SaveStatus.Cancelled"/>.
    /// <paramref name="tier"/> names where the step goes (memory, disk or both), or leaves it to the tier policy.
    /// </summary>
    public SaveHandle Save(long step, RankState state, bool inPlace = false, CancellationToken cancellation = default, SaveTier tier = SaveTier.Policy)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (TierPolicy.Undefined(tier) is { } undefined)
        {
            var refused = new ArgumentOutOfRangeException(nameof(tier), undefined);
            AbortUnbuilt(step, state.Rank, state.WorldSize, refused);
            throw refused;
        }
        var handle = new SaveHandle(step, state.Rank);
        IActorRef shard;
        lock (_lock)
        {
            // Never started: nothing of it can have committed. Once the system's coordinated shutdown
            // has begun, the saves in flight are finished and new ones refused: accepted, they would
            // be cut off by the shutdown's later phases, or hold it up.
            if (_system.WhenTerminated.IsCompleted || CoordinatedShutdown.Get(_system).ShutdownReason is not null || _closing is not null)
            {
                var ending = _system.WhenTerminated.IsCompleted ? $"the actor system '{_system.Name}' has stopped"
                    : _closing ?? $"the actor system '{_system.Name}' is shutting down";
                return Refused(handle, $"{ending}: the save of step {step} was not started");
            }
            var slots = SlotsOf(state.Rank);
            if (!_cancellable.TryGetValue(state.Rank, out var cancellable)) _cancellable[state.Rank] = cancellable = new();
            cancellable.RemoveAll(c => !c.Handle.Occupied);
            // A save of a step this rank has in flight queues behind it in the same shard actor (a
            // retry right after another rank saw the step fail), as behind one that lingers after its
            // caller heard it cancelled. In another shard actor, at once, the planner would take its
            // plan for the first one's sent again, and one of the two would wait for a verdict that never comes.
            var same = -1;
            if (slots.Count > 1 && cancellable.FindIndex(c => c.Handle.Lingering && c.Handle.Step == step) is var at && at >= 0) same = cancellable[at].Slot;
            else if (slots.Count > 1 && _unfinalized.InFlight(state.Rank, step))
            {
                same = slots.FindIndex(s => s.Last is { IsFinished: false } last && last.Step == step);
                if (same < 0)
                    return Refused(handle, $"rank {state.Rank} already has a save of step {step} in flight, with later saves queued behind it: the save of step {step} was not started");
            }
            if (MissingPlanner() is { } missing)
            {
                // Otherwise the shard would re-send its plan to no one until the verdict deadline.
                return Refused(handle, missing);
            }
            // A shard actor whose save lingers after its caller heard it cancelled is busy with it.
            var free = same;
            for (var k = 0; free < 0 && k < slots.Count; k++)
                if ((slots[k].Last is null || slots[k].Last!.IsFinished) && !cancellable.Any(c => c.Slot == k && c.Handle.Lingering)) free = k;
            if (free < 0 && Settings.SkipWhenBusy)
            {
                var busy = string.Join(", ", slots.Select(s => s.Last!.Step));
                handle.Skip($"rank {state.Rank} already has {slots.Count} saves in flight (steps {busy}; actorckpt.async.max-in-flight = {Settings.MaxSavesInFlight})");
                _system.Log.Warning("Skipped the save of step {0} on rank {1}: {2}", step, state.Rank, handle.SkipReason);
                _unfinalized.Add(handle);
                // Without this rank's shard the step cannot commit: the other ranks' saves of it end now, naming the
                // skip, instead of holding their slots (and skipping every later save) until the plan deadline.
                AbortUnbuilt(step, state.Rank, state.WorldSize, new SaveSkippedException(step, handle.SkipReason!));
                return handle;
            }
            if (free < 0) free = slots.Select((s, i) => (s.Last!.Sequence, i)).Min().i;
            shard = slots[free].Shard;
            slots[free] = (shard, handle);
            _unfinalized.Add(handle);
            if (cancellation.CanBeCanceled) cancellable.Add((free, handle));
        }
        // Registered before the request goes: a token cancelled already marks the handle first, so
        // the shard sees it when the request arrives and stages nothing.
        if (cancellation.CanBeCanceled)
        {
            var registration = cancellation.Register(() =>
            {
                if (handle.RequestCancel(cancellation)) shard.Tell(new CancelSave(handle));
            });
            handle.Committed.ContinueWith(_ => registration.Dispose(), TaskScheduler.Default);
        }
        // Read after this call returns: held, so that what the caller disposes or adds meanwhile cannot pull it from under the save.
        shard.Tell(new SaveShard(step, state.Hold(), handle, inPlace, tier));
        return handle;
    }

    /// <summary>A save refused before it started: its handle fails with <paramref name="reason"/> and is kept for <see cref="FinalizeAsync"/>. Called under the lock.</summary>
    private SaveHandle Refused(SaveHandle handle, string reason)
    {
        handle.Fail(new ActorCkptException(reason));
        _unfinalized.Add(handle);
        return handle;
    }

    /// <summary>
    /// From now on every new save is refused, its handle failing with "<paramref name="why"/>: the
    /// save of step N was not started"; the saves in flight go on.
    /// </summary>
    public void RefuseNewSaves(string why)
    {
        lock (_lock) _closing = why;
    }

    /// <summary>
    /// The node is about to stop without waiting any longer: a save still in flight when its shard
    /// actor stops fails saying "<paramref name="why"/>" and that it was cut off, rather than that a
    /// shard actor stopped. Until then the saves go on (and may still commit); their outcome is
    /// then unknown (the planner may have committed one just before): the catalog tells.
    /// </summary>
    public void CutOffSaves(string why) => _cutOff.Set(why);

    /// <summary>The saves in flight now, oldest first: step and rank.</summary>
    public IReadOnlyList<(long Step, int Rank)> SavesInFlight()
    {
        lock (_lock) return _unfinalized.Unfinished.Select(h => (h.Step, h.Rank)).ToArray();
    }

    /// <summary>Completes once every save started so far has ended, however it ended; their outcomes stay for <see cref="FinalizeAsync"/>.</summary>
    public Task SavesEndedAsync()
    {
        Task[] pending;
        lock (_lock) pending = _unfinalized.Unfinished.Select(h => (Task)h.Committed).ToArray();
        return Task.WhenAll(pending.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
    }

    /// <summary>
    /// This rank's state of <paramref name="step"/> could not even be made (a part that threw, a spec that
    /// does not fit, an undefined tier): the other ranks' saves of the step abort at once, naming it, as when
    /// a state cannot be staged, rather than wait out the plan deadline for a plan that never comes.
    /// </summary>
    internal void AbortUnbuilt(long step, int rank, int worldSize, Exception failure)
    {
        if (step < 0 || rank < 0 || rank >= worldSize) return;
        // A save of the step this rank has in flight, or one lingering after its caller heard it cancelled, owns the
        // step's round: a second call that failed is not that save's failure (Save refuses such a call, aborting nothing).
        lock (_lock)
            if (_unfinalized.InFlight(rank, step) || (_cancellable.TryGetValue(rank, out var held) && held.Any(c => c.Handle.Lingering && c.Handle.Step == step))) return;
        (ShardsPlanner ?? Planner).Tell(new AbortSave(step, rank, worldSize, Failure: ErrorText.Of(failure)));
    }

    /// <summary>
    /// Finishes the bookkeeping of saves submitted here: returns how every save that has ended since
    /// the last call ended (committed, failed, skipped), oldest first; at most the newest
    /// <see cref="SaveOutcomes.DefaultKept"/> of them (see <see cref="SaveOutcomes"/>). With <paramref name="blocking"/>
    /// it first waits until every save in flight has ended. Cancelling <paramref name="cancellation"/> ends
    /// that wait and takes nothing: the next call returns what ended meanwhile.
    /// </summary>
    public async Task<IReadOnlyList<SaveOutcome>> FinalizeAsync(bool blocking, CancellationToken cancellation = default)
    {
        if (blocking)
        {
            Task[] pending;
            lock (_lock) pending = _unfinalized.Held.Select(h => h.Committed).ToArray();
            await Task.WhenAll(pending.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default))).WaitAsync(cancellation);
        }
        cancellation.ThrowIfCancellationRequested();
        lock (_lock)
        {
            return _unfinalized.TakeFinished().Select(SaveOutcome.Of).ToArray();
        }
    }

    /// <summary>Completes once the object tier has no upload under way or waiting, nor a memory step due for it being persisted (at once without the tier).</summary>
    public Task WaitForUploadsAsync(TimeSpan timeout, CancellationToken cancellation = default) =>
        UnlessStopped(() => Planner.Ask<UploadsIdle>(AwaitUploads.Instance, timeout, cancellation), "before the uploads were idle");

    /// <summary>The longest time a .NET or Akka timer takes (<see cref="int.MaxValue"/> ms, about 24.8 days).</summary>
    internal static readonly TimeSpan LongestTimer = TimeSpan.FromMilliseconds(int.MaxValue - 1);

    /// <summary>
    /// True when no rank of the world has a save in flight, and the same answer on every rank: a
    /// collective through the planner, so every one of the <paramref name="worldSize"/> ranks must
    /// ask (in the same order of questions) before any gets its answer. Past <paramref name="timeout"/>
    /// it throws <see cref="TimeoutException"/> naming the ranks that did not ask; cancelled, it throws
    /// <see cref="OperationCanceledException"/>. Either way the rank's vote is taken back and its next
    /// question is the same round again (unless the round completed meanwhile), so the ranks stay in step.
    /// </summary>
    public async Task<bool> IsQueueEmptyAsync(int rank, int worldSize, TimeSpan timeout, CancellationToken cancellation = default)
    {
        if (worldSize < 1) throw new ArgumentOutOfRangeException(nameof(worldSize), $"world size {worldSize}: the world has at least one rank");
        if (rank < 0 || rank >= worldSize) throw new ArgumentOutOfRangeException(nameof(rank), $"rank {rank}: a rank of a world of {worldSize} is 0 to {worldSize - 1}");
        // Akka takes a zero timeout for none: the question would wait for ever. .NET's timers take no more than int.MaxValue ms.
        if ((timeout <= TimeSpan.Zero || timeout > LongestTimer) && timeout != Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(nameof(timeout), $"timeout {timeout}: a positive time of at most {LongestTimer}, or Timeout.InfiniteTimeSpan");
        long round;
        bool empty;
        lock (_lock)
        {
            // Rounds are numbered per rank: two questions of one rank at once would leave it a round ahead of the others.
            if (!_queueAsking.Add(rank))
                throw new InvalidOperationException($"rank {rank} is already asking whether every save queue is empty: a rank asks one question at a time, as every rank does in step");
            round = _queueRounds[rank] = _queueRounds.GetValueOrDefault(rank) + 1;
            empty = !_slots.TryGetValue(rank, out var slots) || slots.All(s => s.Last is null || s.Last.IsFinished);
        }
        try
        {
            return await AgreeAsync(rank, worldSize, round, empty, timeout, cancellation);
        }
        finally
        {
            lock (_lock) _queueAsking.Remove(rank);
        }
    }

    private async Task<bool> AgreeAsync(int rank, int worldSize, long round, bool empty, TimeSpan timeout, CancellationToken cancellation)
    {
        try
        {
            switch (await UnlessStopped(() => Planner.Ask<object>(new AgreeQueueEmpty(round, rank, worldSize, empty), timeout, cancellation), "before the ranks agreed"))
            {
                case QueueEmptyAgreed agreed:
                    return agreed.Empty;
                case QueueQuestionRefused refused:
                    // Not counted: the next question is this round again.
                    lock (_lock)
                        if (_queueRounds[rank] == round) _queueRounds[rank] = round - 1;
                    throw new ArgumentException(refused.Reason, nameof(worldSize));
                case var other:
                    throw new InvalidOperationException($"unexpected answer {other.GetType().Name} to the queue question");
            }
        }
        catch (Exception e) when (e is AskTimeoutException or OperationCanceledException)
        {
            // The vote is taken back and the round asked again next time, so that a rank that gave up
            // does not answer its next question with the others' answer to this one. Voting again in
            // a round replaces the old vote, so the round is asked again even if the withdrawal is lost.
            // Within the planner's own bound, not the question's: a short question's time says nothing of how soon the planner answers.
            var withdrawn = await WithdrawQueueVoteAsync(round, rank, Settings.PlanTimeout);
            if (withdrawn is QueueEmptyAgreed answered && e is AskTimeoutException) return answered.Empty;
            if (withdrawn is not QueueEmptyAgreed)
                lock (_lock)
                    if (_queueRounds[rank] == round) _queueRounds[rank] = round - 1;
            if (e is OperationCanceledException) throw;
            throw new TimeoutException($"rank {rank} asked whether every save queue is empty, and within {timeout} " + (withdrawn switch
            {
                QueueVoteWithdrawn { Missing.Length: > 0 } w => $"ranks {string.Join(", ", w.Missing)} of {worldSize} did not ask",
                QueueVoteWithdrawn => "no answer came",
                _ => "no answer came, nor to taking its vote back (ask again on every rank)",
            }));
        }
    }

    /// <summary>The planner's answer to taking back a vote (<see cref="QueueVoteWithdrawn"/> or the round's <see cref="QueueEmptyAgreed"/>); null when none came.</summary>
    private async Task<object?> WithdrawQueueVoteAsync(long round, int rank, TimeSpan timeout)
    {
        try
        {
            return await UnlessStopped(() => Planner.Ask<object>(new WithdrawQueueVote(round, rank), timeout), "before the ranks agreed");
        }
        catch (AskTimeoutException)
        {
            return null;
        }
    }

    /// <summary>
    /// The answer of <paramref name="ask"/>, or when the actor system has stopped or stops first, a
    /// failure saying so: an actor stopped with its system never answers, and the ask would wait out
    /// its whole timeout (a load's, 30 minutes), or without one forever.
    /// </summary>
    internal async Task<T> UnlessStopped<T>(Func<Task<T>> ask, string what)
    {
        if (_system.WhenTerminated.IsCompleted) throw new ActorCkptException($"the actor system '{_system.Name}' has stopped: this node can no longer be asked anything");
        var answer = ask();
        if (await Task.WhenAny(answer, _system.WhenTerminated) != answer)
            throw new ActorCkptException($"the actor system '{_system.Name}' stopped {what}");
        return await answer;
    }

    /// <summary>
    /// On a cluster node that is up: why no planner can coordinate a save when no member of the
    /// cluster has the planner role; null otherwise (a node still joining does not know the members yet).
    /// </summary>
    private string? MissingPlanner()
    {
        if (!_system.IsClustered()) return null;
        var cluster = Akka.Cluster.Cluster.Get(_system);
        var members = cluster.State.Members;
        if (!members.Any(m => m.UniqueAddress.Equals(cluster.SelfUniqueAddress) && m.Status == Akka.Cluster.MemberStatus.Up)) return null;
        return members.Any(m => m.HasRole(ClusterRoles.Planner) && m.Status is Akka.Cluster.MemberStatus.Joining or Akka.Cluster.MemberStatus.WeaklyUp or Akka.Cluster.MemberStatus.Up)
            ? null
            : $"no node of the cluster has the '{ClusterRoles.Planner}' role, so no planner can coordinate the save; add \"{ClusterRoles.Planner}\" to the cluster roles of at least one node (CheckpointClusterOptions.Roles with Checkpointer.Start, ClusterOptions.Roles with Akka.Hosting, or akka.cluster.roles)";
    }

    /// <summary>
    /// The cluster downed this node (at <paramref name="self"/>): no planner can reach it any more.
    /// Its saves in flight fail now, and new saves and loads are refused, each naming why, rather
    /// than wait out their deadlines; only a new process can join again.
    /// </summary>
    private void Downed(Address self)
    {
        var why = $"this node ({self}) was downed, so it is no longer a member of its cluster and no planner can reach it " +
            "(the split-brain resolver downs the side of a split that lost, and a Down command does too); restart the process to join the cluster again";
        if (!_left.Set(why)) return;
        _system.Log.Warning("ActorCkpt: {0}. Its saves in flight fail now; new saves and loads are refused", why);
        IActorRef[] shards;
        lock (_lock)
        {
            _closing ??= why;
            shards = _slots.Values.SelectMany(s => s).Select(s => s.Shard).ToArray();
        }
        foreach (var shard in shards) shard.Tell(new NodeLeftCluster(why));
    }

    private void FailUnfinished()
    {
        lock (_lock)
            foreach (var handle in _unfinalized.Unfinished.ToArray())
                handle.Fail(Stopped(handle.Step));
    }

    private ActorCkptException Stopped(long step) =>
        new($"the actor system '{_system.Name}' stopped before this node heard how the save of step {step} ended (the catalog says whether it committed)");

    /// <summary>The save slots of <paramref name="rank"/>, their shard actors started on first use. Called under the lock.</summary>
    private List<(IActorRef Shard, SaveHandle? Last)> SlotsOf(int rank)
    {
        if (!_hostsRanks) throw new InvalidOperationException(
            $"this node has no '{ClusterRoles.Rank}' role, so it cannot save or load ranks; add \"{ClusterRoles.Rank}\" to its cluster roles " +
            "(CheckpointClusterOptions.Roles with Checkpointer.Start, ClusterOptions.Roles with Akka.Hosting, or akka.cluster.roles)");
        if (_slots.TryGetValue(rank, out var slots)) return slots;
        var replicas = new ReplicaMemory();
        _slots[rank] = slots = Enumerable.Range(0, Settings.MaxSavesInFlight)
            .Select(k => (_system.ActorOf(ShardActor.Props(rank, ShardsPlanner ?? Planner, Store, Settings, StagingPool, $"{_name}-reader", replicas, SharedReads, Replicas, _cutOff, _left),
                k == 0 ? $"{_name}-shard-{rank}" : $"{_name}-shard-{rank}-{k}"), (SaveHandle?)null))
            .ToList();
        return slots;
    }

    /// <summary>
    /// Loads step <paramref name="step"/> (the newest committed when null) into
    /// <paramref name="target"/>'s tensors, resharding as needed. Throws the load's own exception.
    /// The load holds the target's memory from this call until it ends (as a save holds its state): when
    /// <paramref name="timeout"/> passes first, this throws but the load may still be filling it, and a
    /// tensor its caller disposes meanwhile is filled unseen, never freed under the load. <paramref name="progress"/>
    /// hears, as each read completes, the destination bytes it filled. A cancelled
    /// <paramref name="cancellation"/> stops the load between reads: it throws
    /// <see cref="OperationCanceledException"/> once no read is under way. <paramref name="throughReaders"/>
    /// chooses where the bytes come from for this load (null: <c>actorckpt.load.source</c>); <paramref name="only"/>
    /// limits it to one tier (null: the newest loadable step from either, memory first).
    /// </summary>
    public Task<LoadResult> LoadAsync(RankState target, long? step = null, StrictHandling? strict = null, TimeSpan? timeout = null, IProgress<long>? progress = null,
        CancellationToken cancellation = default, bool? throughReaders = null, StorageTier? only = null) =>
        LoadAsync((target ?? throw new ArgumentNullException(nameof(target))).Rank, new LoadShard(step, target, strict, progress, Cancellation: cancellation, ThroughReaders: throughReaders, Only: only), timeout);

    /// <summary>
    /// Loads into the target <paramref name="prepare"/> builds for rank <paramref name="rank"/> from
    /// the step's metadata, which is read only once the load holds its lease on the step (so
    /// retention cannot delete the step between reading its metadata and reading its data).
    /// <paramref name="check"/> hears the result before any tensor is filled; what it throws fails the load with the target untouched.
    /// Otherwise as <see cref="LoadAsync(RankState, long?, StrictHandling?, TimeSpan?, IProgress{long}?, CancellationToken, bool?, StorageTier?)"/>.
    /// </summary>
    public Task<LoadResult> LoadAsync(int rank, Func<CheckpointMetadata, RankState> prepare, long? step = null, StrictHandling? strict = null,
        IProgress<long>? progress = null, CancellationToken cancellation = default, Action<LoadResult>? check = null) =>
        LoadAsync(rank, new LoadShard(step, null, strict, progress, prepare, cancellation, Check: check), null);

    private async Task<LoadResult> LoadAsync(int rank, LoadShard request, TimeSpan? timeout)
    {
        if (request.Strict is { } strict) EnumArguments.Check(strict, "strict", "strict handling", Strictness.Names);
        if (request.Only is { } only) EnumArguments.Check(only, "only", "storage tier", ["disk", "memory", "object"]);
        // Its lease would be asked of no planner until the lease deadline.
        if (_left.Why is { } left) throw new ActorCkptException($"{left}: the load was not started");
        if (_system.WhenTerminated.IsCompleted) throw new ActorCkptException($"the actor system '{_system.Name}' has stopped: this node can no longer be asked anything");
        // Held from here (the checks above refuse it before anything holds it): a caller that disposes its tensors meanwhile cannot free them under the load.
        request = request with { Target = request.Target?.Hold() };
        // The ask is not cancelled with the load: it returns only once the load stopped touching the target
        // (a stopping system too: the shard actor stops the load and waits for it before it stops).
        var reply = await UnlessStopped(() => Shard(rank).Ask<object>(request, timeout ?? TimeSpan.FromMinutes(30)), "during the load");
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

    /// <summary>
    /// Warms what a process's first save would otherwise pay for: waits until the planner has
    /// recovered its catalog (the journal's first queries: SQLite open, Linq2Db query compilation)
    /// and registered the writers; runs the save's code paths on a scratch state in memory; waits
    /// for the kernel-access probe (<see cref="KernelAccess"/>); and
    /// writes one journal event to an in-memory SQLite database (see <see cref="NodeWarmUp"/>).
    /// Writes nothing under the root that a normal start does not. On a cluster node the planner
    /// singleton may be elsewhere or not up yet: only the local code paths are warmed there.
    /// A warm-up that fails or times out is logged and otherwise ignored: it is an optimization. It
    /// ends, saying nothing, as soon as the actor system terminates (a host stopped right after its start).
    /// Returns what was logged, or null.
    /// </summary>
    public async Task<string?> WarmUpAsync(TimeSpan timeout)
    {
        var tasks = new List<Task> { Task.Run(() => NodeWarmUp.RunSavePaths(Settings)), KernelAccess.Configure(Settings.CopyWrites) };
        if (!_system.IsClustered())
            // Commands are stashed while the planner recovers: the answer comes once it has.
            tasks.Add(NodeWarmUp.PlannerAnsweredAsync(Planner, timeout));
        if (_system.Settings.Config.HasPath(NodeWarmUp.JournalPluginId + ".connection-string"))
            tasks.Add(NodeWarmUp.WriteJournalAsync(_system, NodeWarmUp.Database, timeout));
        var all = Task.WhenAll(tasks);
        // Before, a host stopped at once heard 60 s later that its warm-up "did not finish".
        if (await Task.WhenAny(all, _system.WhenTerminated) != all || _system.WhenTerminated.IsCompleted)
        {
            _ = all.ContinueWith(t => t.Exception, TaskContinuationOptions.OnlyOnFaulted);
            return null;
        }
        if (all.IsCompletedSuccessfully) return null;
        var problem = $"ActorCkpt's warm-up at start did not finish ({all.Exception?.InnerException?.Message ?? "cancelled"}); the first save may be slower";
        _system.Log.Warning("{0}", problem);
        return problem;
    }

    /// <summary>
    /// Why this node's planner could not start after all its tries (<see cref="PlannerSupervisorActor"/>),
    /// or null once it runs; waits until one or the other is known. Only where the planner runs in this process.
    /// </summary>
    public async Task<string?> PlannerGaveUpAsync(TimeSpan timeout) =>
        (await Planner.Ask<PlannerStartSettled>(AwaitPlannerStart.Instance, timeout)).GaveUp;

    /// <summary>The writers the planner knows now, across the cluster (a planner that has not started yet answers after it has).</summary>
    public async Task<IReadOnlyList<IActorRef>> KnownWritersAsync(TimeSpan timeout) =>
        (await Planner.Ask<WritersListed>(new ListWriters(), timeout)).Writers;
}

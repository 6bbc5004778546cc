using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using LoadDecision = ActorCkpt.ShardLoadDecision<Akka.Actor.IActorRef>;
using SaveDecision = ActorCkpt.ShardSaveDecision<Akka.Actor.IActorRef>;

namespace ActorCkpt;

/// <summary>
/// One rank's agent; it only routes. A save is staged by a <see cref="ShardStaging"/> (waiting, with
/// other requests stashed, while the node's staging budget is used up), then every message about it
/// goes to a <see cref="ShardSave{TActor}"/> whose decisions the actor carries out; a load likewise
/// goes to a <see cref="ShardLoad{TActor}"/> and runs off-thread (<see cref="ShardLoader"/>). One
/// operation at a time. A rank with several saves in flight has one shard actor per save (see
/// <see cref="CheckpointNode.Save"/>); their staging buffers come from one pool per node.
/// </summary>
internal sealed class ShardActor : ReceiveActor, IWithUnboundedStash, IWithTimers
{
    private static readonly Func<IActorRef, string> PathOf = a => a.Path.ToString();
    private readonly int _rank;
    private readonly IActorRef _planner;
    private readonly CheckpointStore _store;
    private readonly ActorCkptSettings _settings;
    private readonly StagingPool _pool;
    private readonly ReplicaMemory _replicas;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IMaterializer _materializer = Context.Materializer();
    private readonly RangeFetcher _fetch;
    private readonly RangesFetcher? _fetchMany;
    private readonly SharedReads? _sharedReads;
    // The memory tier: this host's copies, its id, and fetches of other holders' copies.
    private readonly ReplicaStore? _localReplicas;
    private readonly string? _host;
    private readonly RangeFetcher _memoryFetch;
    private ShardStaging? _staging;
    // The save's copy into its buffers, while it runs, and the staging it belongs to.
    private ShardStaging? _copying;
    private Task? _copy;
    private bool _stopped;
    private ShardSave<IActorRef>? _save;
    private ShardSaveEffects? _effects;
    private ShardLoad<IActorRef>? _load;
    private CancellationTokenRegistration _loadCancelled;
    // Loads waiting in the stash, each with its caller's token heard (a load is a record: by reference).
    private readonly Dictionary<LoadShard, CancellationTokenRegistration> _queuedLoads = new(ReferenceEqualityComparer.Instance);
    // The handles of saves waiting in the stash: one cancelled there lingers (its slot busy) until its turn.
    private readonly HashSet<SaveHandle> _queuedSaves = new();
    private CancellationTokenSource? _loadStop;
    private Task? _loadRun;
    // Saves over whose buffers writes, streams or a copy still held at the abandon deadline: each
    // goes back to the pool when the last of them ends late.
    private readonly List<(ShardSave<IActorRef> Save, ShardSaveEffects Effects, Task? Copy, RankState? State)> _abandoned = new();
    // The state of the save under way (held by CheckpointNode.Save): released once nothing of the save reads it.
    private RankState? _held;
    private readonly NodeNotice _cutOff;
    private readonly NodeNotice _left;

    /// <summary>Creates the shard actor of <paramref name="rank"/>; use <see cref="Props"/>.</summary>
    public ShardActor(int rank, IActorRef planner, CheckpointStore store, ActorCkptSettings settings, StagingPool pool, string readerName, ReplicaMemory replicas,
        SharedReads? sharedReads, ReplicaStore? localReplicas, NodeNotice cutOff, NodeNotice left)
    {
        (_cutOff, _left) = (cutOff, left);
        (_rank, _planner, _store, _settings, _pool, _replicas, _sharedReads) = (rank, planner, store, settings, pool, replicas, sharedReads);
        _fetch = ReaderRangeFetch.Through(Context.System, _materializer, readerName, settings.WriteTimeout, settings, retries: settings.LoadRetries);
        _fetchMany = settings.TransferOverChannel ? ReaderRangeFetch.Together(Context.System, readerName, settings.WriteTimeout, settings, _fetch) : null;
        // A holder that is down but not yet removed must not hold a read long: the next holder has the bytes too.
        _memoryFetch = ReaderRangeFetch.Through(Context.System, _materializer, readerName, settings.MemoryTier.AckTimeout, settings, StorageTier.Memory);
        _localReplicas = localReplicas;
        _host = settings.MemoryTier.Enabled ? settings.MemoryTier.Host : null;
        Become(Idle);
    }

    /// <inheritdoc />
    public IStash Stash { get; set; } = null!;

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>
    /// Props of the shard actor of <paramref name="rank"/>; <paramref name="planner"/> may be a singleton proxy; buffers come from
    /// the node's <paramref name="pool"/>; <paramref name="readerName"/> names the reader actors loads go through when
    /// <see cref="ActorCkptSettings.LoadThroughReaders"/>; <paramref name="replicas"/> is shared by the rank's shard actors (fresh when null);
    /// loads share reads with the node's other ranks through <paramref name="sharedReads"/> (none when null);
    /// memory loads read this host's copies from <paramref name="localReplicas"/> (when the node holds copies);
    /// a save still in flight when the actor stops fails saying why the node cut it off (<paramref name="cutOff"/>, when set);
    /// a save fails as it begins once the node has left its cluster (<paramref name="left"/>, when set).
    /// </summary>
    public static Props Props(int rank, IActorRef planner, CheckpointStore store, ActorCkptSettings settings, StagingPool pool,
        string readerName = "actorckpt-reader", ReplicaMemory? replicas = null, SharedReads? sharedReads = null, ReplicaStore? localReplicas = null,
        NodeNotice? cutOff = null, NodeNotice? left = null)
    {
        var memory = replicas ?? new ReplicaMemory();
        var notice = cutOff ?? new NodeNotice();
        var outside = left ?? new NodeNotice();
        return Akka.Actor.Props.Create(() => new ShardActor(rank, planner, store, settings, pool, readerName, memory, sharedReads, localReplicas, notice, outside));
    }

    private void Idle()
    {
        HearAbandoned();
        Receive<SaveShard>(StartSave);
        Receive<LoadShard>(StartLoad);
        Receive<LoadLeaseGranted>(HandBackStrayLease);
        // A save already over, or one still stashed (StartSave sees its cancellation).
        Receive<CancelSave>(_ => { });
        ReceiveAny(msg => _log.Debug("Rank {0} ignores {1} while idle", _rank, msg.GetType().Name));
    }

    private void WaitingForBuffers()
    {
        HearAbandoned();
        Receive<BuffersRented>(_ =>
        {
            if (_staging!.Request.Handle.CancelRequested) CancelBeforeStaged(_staging.Request);
            else Stage();
        });
        // Giving up answers the rent (cancelled, or with buffers if they came first): BuffersRented follows.
        Receive<CancelSave>(m => m.Handle == _staging!.Request.Handle, _ => _staging!.GiveUp());
        Busy("while waiting for buffers");
    }

    private void Saving()
    {
        HearAbandoned();
        Receive<StagingFinished>(OnStagingFinished);
        Receive<LocalPlanAccepted>(m => Carry(_save!.PlanAccepted(m.Step, Sender)));
        Receive<ResendPlan>(m => Carry(_save!.PlanResendDue(m.Step)));
        Receive<AssignWrites>(m => Carry(_save!.WritesAssigned(m.Step, m.SaveId, m.Files.Select(a => new FileAssignment<IActorRef>(a.File, a.Writer, a.Grant, a.Replica)).ToArray(), m.Tier)));
        Receive<WriteFileSuccess>(m => Carry(_save!.WriteSucceeded(m.SaveId, m.Result, Sender, m.Replica)));
        Receive<WriteFileFailure>(m => Carry(_save!.WriteFailed(m.SaveId, m.File, m.Attempts, m.Cause, Sender, m.Replica)));
        Receive<ResendWrite>(m => Carry(_save!.ResendAsked(m.SaveId, m.File, m.Writer, m.Attempt, m.Replica)));
        Receive<WriteReassigned>(m => Carry(_save!.WriteReassigned(m.SaveId, new FileAssignment<IActorRef>(m.Assignment.File, m.Assignment.Writer, m.Assignment.Grant, m.Assignment.Replica))));
        Receive<StreamFile>(m => Carry(_save!.StreamAsked(m.SaveId, m.File, m.Writer, m.Endpoint, m.Attempt, m.Replica)));
        Receive<StreamClosed>(m => Carry(_save!.StreamClosed(m.SaveId)));
        Receive<Terminated>(m => Carry(_save!.ActorLost(m.ActorRef, _cutOff.Why)));
        Receive<CheckpointCommitted>(m => Carry(_save!.Committed(m.Step, m.Summary)));
        Receive<CheckpointAborted>(m => Carry(_save!.Aborted(m.Step, m.Reason)));
        Receive<CancelSave>(m => m.Handle == _effects!.Handle, _ => Carry(_save!.CancelAsked()));
        Receive<VerdictDeadlinePassed>(m => Carry(_save!.VerdictDeadlinePassed(m.Step, _settings.PlanTimeout + _settings.WriteTimeout)));
        Receive<CancelGraceOver>(m => Carry(_save!.CancelGraceOver(m.Step)));
        Receive<AbandonWrites>(m => Carry(_save!.AbandonDue(m.Step)));
        Receive<NodeLeftCluster>(m => Carry(_save!.NodeLeftCluster(m.Why)));
        Busy("while saving");
    }

    private void Loading()
    {
        HearAbandoned();
        Receive<LoadLeaseGranted>(m => Carry(_load!.Granted(m.RequestId, m.Step, m.MetadataChecksum, Sender, m.Tier, m.Holders, m.PassedOver)));
        Receive<LoadLeaseRefused>(m => Carry(_load!.Refused(m.RequestId, m.Reason)));
        Receive<LeaseDeadlinePassed>(_ => Carry(_load!.LeaseDeadlinePassed(_settings.PlanTimeout)));
        Receive<Terminated>(m => Carry(_load!.ActorLost(m.ActorRef)));
        Receive<AskLeaseAgain>(_ => Carry(_load!.AskDue()));
        Receive<LoadCompleted>(m => Carry(_load!.Completed(m.Reply, m.Warnings)));
        Receive<LoadCancelled>(m => ReferenceEquals(m.Request, _load!.Request), _ => Carry(_load!.Cancelled()));
        Busy("while loading");
    }

    /// <summary>A load begins; its caller's token is heard while it waits for the lease (the loader hears it after).</summary>
    private void StartLoad(LoadShard msg)
    {
        if (_queuedLoads.Remove(msg, out var queued)) queued.Dispose();
        _load = new ShardLoad<IActorRef>(msg, Sender, PathOf);
        if (msg.Cancellation.IsCancellationRequested)
        {
            Carry(_load.Cancelled(), Loading);
            return;
        }
        var self = Self;
        _loadCancelled = msg.Cancellation.Register(() => self.Tell(new LoadCancelled(msg)));
        Carry(_load.Start(), Loading);
    }

    /// <summary>Late answers about an abandoned save's buffers, in every behaviour, before anything else hears them.</summary>
    private void HearAbandoned()
    {
        Receive<WriteFileSuccess>(m => AbandonedAt(m.SaveId) >= 0, m => CarryAbandoned(AbandonedAt(m.SaveId), s => s.LateWriteEnded(m.SaveId, m.Result.FileName, Sender, m.Replica)));
        Receive<WriteFileFailure>(m => AbandonedAt(m.SaveId) >= 0, m => CarryAbandoned(AbandonedAt(m.SaveId), s => s.LateWriteEnded(m.SaveId, m.File, Sender, m.Replica)));
        Receive<ResendWrite>(m => AbandonedAt(m.SaveId) >= 0, m => CarryAbandoned(AbandonedAt(m.SaveId), s => s.LateResendAsked(m.SaveId, m.File, m.Writer, m.Replica)));
        Receive<StreamClosed>(m => AbandonedAt(m.SaveId) >= 0, m => CarryAbandoned(AbandonedAt(m.SaveId), s => s.LateStreamClosed(m.SaveId)));
        Receive<StagingFinished>(m => _abandoned.FindIndex(a => a.Copy == m.Copy) >= 0,
            m => CarryAbandoned(_abandoned.FindIndex(a => a.Copy == m.Copy), s => s.LateStagingOver()));
        // A writer an abandoned save still waits on stopped: it reads nothing more. The save or load under way hears it too.
        Receive<Terminated>(m => _abandoned.Any(a => a.Save.AbandonedWith(m.ActorRef)), m =>
        {
            for (var i = _abandoned.Count - 1; i >= 0; i--) CarryAbandoned(i, s => s.LateWriterLost(m.ActorRef));
            if (_save is not null) Carry(_save.ActorLost(m.ActorRef, _cutOff.Why));
            else if (_load is not null) Carry(_load.ActorLost(m.ActorRef));
        });
    }

    private int AbandonedAt(Guid saveId) => _abandoned.FindIndex(a => a.Save.SaveId == saveId);

    /// <summary>Gives an abandoned save's buffers back when <paramref name="late"/> says nothing is left that reads them.</summary>
    private void CarryAbandoned(int at, Func<ShardSave<IActorRef>, IReadOnlyList<SaveDecision>> late)
    {
        var (save, effects, _, state) = _abandoned[at];
        foreach (var decision in late(save))
        {
            effects.Apply(decision);
            if (decision is SaveDecision.ReleaseBuffers)
            {
                _abandoned.RemoveAt(at);
                state?.Release();
                _log.Info("Rank {0}: the last write of step {1} abandoned at its deadline ended; its staging buffers are back in the pool", _rank, save.Step);
            }
        }
    }

    /// <summary>
    /// While a save or load runs, requests wait in the stash; a save cancelled there ends at once (its turn
    /// tells the planner), a load cancelled there leaves it and fails at once (it has asked no one anything).
    /// </summary>
    private void Busy(string doing)
    {
        Receive<SaveShard>(m =>
        {
            Stash.Stash();
            _queuedSaves.Add(m.Handle);
        });
        Receive<LoadShard>(QueueLoad);
        Receive<QueuedLoadCancelled>(DropQueuedLoad);
        Receive<CancelSave>(m =>
        {
            // Its caller hears at once, but this actor is busy until the save's turn: so is the save's slot, or the
            // node would queue the next save here rather than skip it (when-busy = skip) or give it a free slot.
            if (_queuedSaves.Contains(m.Handle)) m.Handle.Linger(true);
            m.Handle.Cancel();
        });
        Receive<LoadLeaseGranted>(HandBackStrayLease);
        ReceiveAny(msg => _log.Debug("Rank {0} ignores {1} {2}", _rank, msg.GetType().Name, doing));
    }

    private void QueueLoad(LoadShard load)
    {
        Stash.Stash();
        // Stashed again when it comes back to a busy actor: heard once.
        if (!load.Cancellation.CanBeCanceled || _queuedLoads.ContainsKey(load)) return;
        var self = Self;
        _queuedLoads[load] = load.Cancellation.Register(() => self.Tell(new QueuedLoadCancelled(load)));
    }

    private void DropQueuedLoad(QueuedLoadCancelled cancelled)
    {
        if (!_queuedLoads.Remove(cancelled.Request, out var registration)) return;
        registration.Dispose();
        var stashed = Stash.ClearStash().ToList();
        Stash.Prepend(stashed.Where(e => !ReferenceEquals(e.Message, cancelled.Request)));
        var at = stashed.FindIndex(e => ReferenceEquals(e.Message, cancelled.Request));
        if (at < 0) return;
        cancelled.Request.Target?.Release();
        stashed[at].Sender.Tell(new LoadShardFailure(new OperationCanceledException(cancelled.Request.Cancellation)));
    }

    /// <summary>Stages the state at once when the pool has its buffers, else once they come.</summary>
    private void StartSave(SaveShard msg)
    {
        _queuedSaves.Remove(msg.Handle);
        _held = msg.State;
        if (msg.Handle.CancelRequested) CancelBeforeStaged(msg);
        else if ((_staging = ShardStaging.Begin(msg, _rank, _settings, _pool, _replicas, out var failure)) is null) FailedBeforeStaged(msg, failure!);
        else if (_staging.Rent.IsCompletedSuccessfully) Stage();
        else
        {
            _log.Info("Rank {0}: step {1} waits for staging buffers (budget {2} bytes in use by saves in flight)", _rank, msg.Step, _pool.BudgetBytes);
            _staging.Rent.ContinueWith(_ => new BuffersRented(), TaskScheduler.Default).PipeTo(Self);
            Become(WaitingForBuffers);
        }
    }

    /// <summary>A save cancelled before it was staged: the other ranks' plans may be on their way, so the planner refuses them rather than wait for this one.</summary>
    private void CancelBeforeStaged(SaveShard msg)
    {
        _staging?.ReturnBuffers();
        _planner.Tell(new AbortSave(msg.Step, _rank, msg.State.WorldSize));
        msg.Handle.Cancel();
        msg.Handle.Linger(false);
        BecomeIdle();
    }

    /// <summary>
    /// A save that could not be staged (its handle already failed saying why): the other ranks' plans
    /// may be on their way, so the planner refuses them with this rank's reason rather than wait for
    /// its plan. A negative step has no save to abort.
    /// </summary>
    private void FailedBeforeStaged(SaveShard msg, Exception failure)
    {
        AbortUnstaged(msg, failure);
        BecomeIdle();
    }

    /// <summary>Has the planner refuse the other ranks' plans of a save this rank could not stage, with its reason.</summary>
    private void AbortUnstaged(SaveShard msg, Exception failure)
    {
        if (msg.Step >= 0) _planner.Tell(new AbortSave(msg.Step, _rank, msg.State.WorldSize, Failure: ErrorText.Of(failure)));
    }

    /// <summary>
    /// Starts filling the buffers and hands the save to its state machine at once (or goes idle: the
    /// handle says why not): the plan goes out and writers start while the copy runs; Staged
    /// completes when it is over (<see cref="StagingFinished"/>).
    /// </summary>
    private void Stage()
    {
        var staging = _staging!;
        var msg = staging.Request;
        if (staging.Start() is not var (staged, copy))
        {
            FailedBeforeStaged(msg, staging.Failure!);
            return;
        }
        (_staging, _copying, _copy) = (null, staging, copy);
        _effects = new ShardSaveEffects(msg.Handle, staged, msg.Step, _pool, _replicas);
        if (copy.IsCompleted)
        {
            // Nothing to copy (in place): staged before the plan goes, as the copy never ran.
            _save = new ShardSave<IActorRef>(msg.Step, _rank, staged, msg.InPlace, PathOf, tier: msg.Tier);
            // Copied here already (actorckpt.async.overlap-writes = off): as after an overlapped copy, the state is the caller's again.
            if (!msg.InPlace) ReleaseHeld();
            if (staging.Finish(copy, _settings.KillAt) is not { } failed) StartSaving();
            else
            {
                // An overlapped copy that failed at once (not nothing to copy): no writer has the buffers.
                staging.ReturnBuffers();
                FailedBeforeStaged(msg, failed);
            }
            return;
        }
        _save = new ShardSave<IActorRef>(msg.Step, _rank, staged, msg.InPlace, PathOf, staging: true, tier: msg.Tier);
        copy.ContinueWith(t => new StagingFinished(t), TaskScheduler.Default).PipeTo(Self);
        StartSaving();
    }

    /// <summary>
    /// The staged save's plan goes out; on a node that has left its cluster, the save then fails at
    /// once (it was accepted before the node knew, and <see cref="NodeLeftCluster"/> came while it waited).
    /// </summary>
    private void StartSaving()
    {
        Carry(_save!.Start(), Saving);
        if (_left.Why is { } why && _save is { } save) Carry(save.NodeLeftCluster(why));
    }

    /// <summary>The copy into the buffers is over: Staged completes (or fails with the copy's error), then the save hears it.</summary>
    private void OnStagingFinished(StagingFinished finished)
    {
        if (finished.Copy != _copy) return;
        _copying!.Finish(finished.Copy, _settings.KillAt);
        _copy = null;
        // A copied save reads the caller's state no more: its memory is the caller's again now, not at the commit.
        if (!_copying.Request.InPlace) ReleaseHeld();
        Carry(_save!.StagingOver());
    }

    /// <summary>Where a memory load reads (null for a disk load): the memory metadata under the root, this host's copies, the other holders' readers.</summary>
    private MemoryLoadSource? MemorySource(LoadDecision.Run run)
    {
        if (run.Tier != StorageTier.Memory) return null;
        var planner = _planner;
        return new MemoryLoadSource(_store.MemorySteps(),
            _localReplicas, _localReplicas is null ? null : _host, run.Holders ?? [], _memoryFetch, refused => planner.Tell(refused));
    }

    /// <summary>Where an object-tier load reads (null for any other): the tier's root, opened once per node; every node reads it directly.</summary>
    private Func<CheckpointStore>? ObjectTier(LoadDecision.Run run)
    {
        if (run.Tier != StorageTier.Object) return null;
        var (stores, settings) = (ObjectTierStores.Get(Context.System), _settings);
        return () => stores.Open(settings);
    }

    /// <summary>Carries out a save's <paramref name="decisions"/>, after becoming <paramref name="next"/> when given.</summary>
    private void Carry(IReadOnlyList<SaveDecision> decisions, Action? next = null)
    {
        if (next is not null) Become(next);
        var save = _save!;
        foreach (var decision in decisions)
            switch (decision)
            {
                case SaveDecision.SendPlan: _planner.Tell(save.Submission); break;
                case SaveDecision.ResendPlanPeriodically: Timers.StartPeriodicTimer(nameof(ResendPlan), new ResendPlan(save.Step), _settings.PlanResendInterval); break;
                case SaveDecision.StopResendingPlan: Timers.Cancel(nameof(ResendPlan)); break;
                case SaveDecision.StartVerdictDeadline: Timers.StartSingleTimer(nameof(VerdictDeadlinePassed), new VerdictDeadlinePassed(save.Step), _settings.PlanTimeout + _settings.WriteTimeout); break;
                case SaveDecision.StartCancelGrace: Timers.StartSingleTimer(nameof(CancelGraceOver), new CancelGraceOver(save.Step), 2 * _settings.PlanResendInterval); break;
                case SaveDecision.StartAbandonDeadline: Timers.StartSingleTimer(nameof(AbandonWrites), new AbandonWrites(save.Step), _settings.WriteTimeout); break;
                case SaveDecision.Watch w: Context.Watch(w.Actor); break;
                case SaveDecision.SendWrite w: WriteHandOff.Send(w.Assignment.Writer, save.Step, save.SaveId!.Value, w.Assignment.File, save.Staged, Self, w.Attempt, w.Assignment.Grant, w.Assignment.Replica, save.Tier); break;
                case SaveDecision.AskReassignment r: (r.Planner ?? _planner).Tell(new ReassignWrite(save.Step, save.SaveId!.Value, r.File, r.LostWriter, r.Replica)); break;
                case SaveDecision.AskAbort a: (a.Planner ?? _planner).Tell(new AbortSave(save.Step, _rank, save.Staged.Plan.WorldSize, PlanSent: true)); break;
                case SaveDecision.TellPlannerLost l: _planner.Tell(new AbortSave(save.Step, _rank, save.Staged.Plan.WorldSize, Failure: l.Why, PlannerLost: true)); break;
                case SaveDecision.Report r: _planner.Tell(new ReportWrites(save.Step, r.SaveId, _rank, r.Results, r.Failures, r.Copies)); break;
                case SaveDecision.OpenStream { Endpoint: { } endpoint, Grant: { } grant } o:
                    StagedFilePush.Start(BulkChannels.Get(Context.System).For(_settings).Client, endpoint, grant.ForAttempt(o.Attempt), save.Staged, o.File, Sender, Self,
                        new StreamClosed(save.SaveId!.Value), _log);
                    break;
                case SaveDecision.OpenStream o: StagedFileStream.Offer(save.Staged, o.File, _settings.TransferChunkSize, _materializer, Sender, Self, new StreamClosed(save.SaveId!.Value)); break;
                case SaveDecision.RefuseStream r: Sender.Tell(new StreamFileFailure(r.Cause)); break;
                case SaveDecision.Warn w: _log.Warning("Rank {0}: {1}", _rank, w.Text); break;
                case SaveDecision.AbandonBuffers a:
                    _log.Error("Rank {0}: {1} writes and {2} streams of step {3} never finished; abandoning their staging buffers until they end", _rank, a.Writes, a.Streams, save.Step);
                    _abandoned.Add((save, _effects!, _copy, _held));
                    // Its late writes (in place) or copy still read the state: released with their buffers, not when the save goes idle.
                    _held = null;
                    break;
                // The save is over: nothing after it is carried out (its effects are gone with it).
                case SaveDecision.Finished:
                    _effects!.Handle.Linger(false);
                    if (!_stopped) BecomeIdle();
                    return;
                default:
                    if (!_effects!.Apply(decision)) throw new InvalidOperationException($"the shard actor cannot carry out {decision}");
                    if (_effects.TakeHandlerFailure() is { } thrown)
                        _log.Warning("Rank {0}: a Progressed handler of the save of step {1} threw ({2}: {3}); the save goes on, and so do its progress reports",
                            _rank, save.Step, thrown.GetType().Name, thrown.Message);
                    break;
            }
    }

    /// <summary>Carries out a load's <paramref name="decisions"/>, after becoming <paramref name="next"/> when given.</summary>
    private void Carry(IReadOnlyList<LoadDecision> decisions, Action? next = null)
    {
        if (next is not null) Become(next);
        var load = _load!;
        foreach (var decision in decisions)
            switch (decision)
            {
                case LoadDecision.AskLease a: _planner.Tell(new AcquireLoadLease(a.RequestId, a.Step, a.Renew, load.Request.Only, _host)); break;
                case LoadDecision.StartLeaseDeadline: Timers.StartSingleTimer(nameof(LeaseDeadlinePassed), new LeaseDeadlinePassed(), _settings.PlanTimeout); break;
                case LoadDecision.StopLeaseDeadline: Timers.Cancel(nameof(LeaseDeadlinePassed)); break;
                case LoadDecision.AskPeriodically: Timers.StartPeriodicTimer(nameof(AskLeaseAgain), new AskLeaseAgain(), _settings.PlanResendInterval); break;
                case LoadDecision.StopAsking: Timers.Cancel(nameof(AskLeaseAgain)); break;
                case LoadDecision.Watch w: Context.Watch(w.Actor); break;
                case LoadDecision.Unwatch u: Context.Unwatch(u.Actor); break;
                case LoadDecision.Run r:
                    _loadStop = new CancellationTokenSource();
                    var run = ShardLoader.RunAsync(_store, load.Request, r.Step, r.MetadataChecksum, _settings,
                        load.Request.ThroughReaders ?? _settings.LoadThroughReaders ? _fetch : null, _sharedReads, MemorySource(r), ObjectTier(r), _fetchMany, _loadStop.Token);
                    _loadRun = run;
                    run.PipeTo(Self, success: o => new LoadCompleted(o.Reply, o.Warnings));
                    break;
                case LoadDecision.HandBack h: h.To.Tell(new ReleaseLoadLease(h.Step)); break;
                case LoadDecision.ReleaseLease r: _planner.Tell(new ReleaseLoadLease(r.Step)); break;
                case LoadDecision.Answer a: a.To.Tell(a.Reply); break;
                case LoadDecision.Warn w: _log.Warning("Rank {0}: {1}", _rank, w.Text); break;
                case LoadDecision.Finished: BecomeIdle(); return;
                default: throw new InvalidOperationException($"the shard actor cannot carry out {decision}");
            }
    }

    /// <summary>A lease granted for a load given up already (its answer came too late): handed straight back.</summary>
    private void HandBackStrayLease(LoadLeaseGranted lease) => Sender.Tell(new ReleaseLoadLease(lease.Step));

    private void BecomeIdle()
    {
        Timers.CancelAll();
        // A load that never ran holds its target still (one that ran let it go as it ended).
        if (_loadRun is null) _load?.Request.Target?.Release();
        _loadCancelled.Dispose();
        _loadStop?.Dispose();
        (_loadCancelled, _loadStop, _loadRun) = (default, null, null);
        (_staging, _copying, _copy, _save, _effects, _load) = (null, null, null, null, null, null);
        ReleaseHeld();
        Become(Idle);
        // Once the node cuts saves off its system is stopping: what waits stays in the stash, for PostStop to
        // answer (unstashed, it could reach the mailbox just before the stop and go to dead letters unanswered).
        if (_cutOff.Why is null) Stash.UnstashAll();
    }

    private void ReleaseHeld()
    {
        _held?.Release();
        _held = null;
    }

    /// <summary>Buffers still waited for go back when they come, a save's buffers when nothing reads them; no handle is left hanging.</summary>
    protected override void PostStop()
    {
        _stopped = true;
        // Waiting for buffers: the other ranks hear of it now, not at the plan deadline.
        if (_staging is { } waiting) AbortUnstaged(waiting.Request, waiting.Abandon(_rank));
        // The copy still reads the caller's tensors and fills the buffers: it ends before the save
        // says it stopped (and gives the buffers back), or the caller could free what it reads.
        if (_copy is { IsCompleted: false } copy) ((IAsyncResult)copy).AsyncWaitHandle.WaitOne();
        if (_copy is not null && _save is not null) OnStagingFinished(new StagingFinished(_copy));
        if (_save is not null) Carry(_save.Stopped(_cutOff.Why));
        _effects?.Handle.Linger(false);
        // The copy is over and the save stopped; in-place writes left running still read the state (as abandoned
        // ones do): its handles then go with the last of them, by their finalizers, not from under them.
        if (_save is null || _save.Released || !_save.InPlace) ReleaseHeld();
        // A running load writes into the caller's tensors: stopped between reads, and over, before the
        // actor (and its system) says it stopped; a read that does not end within the plan timeout is left.
        if (_loadRun is { IsCompleted: false } load)
        {
            _log.Info("Rank {0}: its actor stops during a load, which stops between reads", _rank);
            _loadStop!.Cancel();
            if (!((IAsyncResult)load).AsyncWaitHandle.WaitOne(_settings.PlanTimeout))
                _log.Warning("Rank {0}: the load still runs {1} after its actor stopped", _rank, _settings.PlanTimeout);
        }
        else if (_loadRun is null) _load?.Request.Target?.Release();
        _loadCancelled.Dispose();
        EndQueued();
    }

    /// <summary>
    /// Saves and loads queued behind the one under way never began: each hears so now (nothing of such a
    /// save was written), its held state let go, rather than dead letters and finalizers.
    /// </summary>
    private void EndQueued()
    {
        foreach (var registration in _queuedLoads.Values) registration.Dispose();
        var why = _cutOff.Why ?? $"the shard actor of rank {_rank} stopped";
        foreach (var queued in Stash.ClearStash())
            switch (queued.Message)
            {
                case SaveShard save:
                    save.State.Release();
                    save.Handle.Linger(false);
                    var failure = new CheckpointFailedException(save.Step, $"{why}; it was queued behind another save or load of rank {_rank} and never began (nothing of it was written)");
                    // The other ranks' plans of the step hear it now, not at the plan deadline (in a cluster, where only this node stops).
                    AbortUnstaged(save, failure);
                    save.Handle.Fail(failure);
                    break;
                case LoadShard load:
                    load.Target?.Release();
                    // The node's cut-off reason speaks of saves.
                    queued.Sender.Tell(new LoadShardFailure(new ActorCkptException($"the shard actor of rank {_rank} stopped; the load was queued behind another save or load of it and never began")));
                    break;
            }
    }

    private sealed record LoadCompleted(object Reply, IReadOnlyList<string> Warnings);
    private sealed record LoadCancelled(LoadShard Request);
    private sealed record QueuedLoadCancelled(LoadShard Request);
    private sealed record LeaseDeadlinePassed;
    private sealed record AskLeaseAgain;
    private sealed record AbandonWrites(long Step);
    private sealed record VerdictDeadlinePassed(long Step);
    private sealed record CancelGraceOver(long Step);
    private sealed record ResendPlan(long Step);
    private sealed record BuffersRented;
    private sealed record StagingFinished(Task Copy);
    private sealed record StreamClosed(Guid SaveId);
}

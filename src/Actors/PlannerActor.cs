using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Akka.Persistence;
using Decision = ActorCkpt.RoundDecision<Akka.Actor.IActorRef>;

namespace ActorCkpt;

/// <summary>
/// Coordinates saves and keeps the catalog of checkpoints, and only routes: decisions are made by
/// <see cref="SaveRounds{TRef}"/> (saves), <see cref="StepRemovals{TAsker}"/> (deletions),
/// <see cref="CatalogReconciler"/> (recovery) and <see cref="LoadLeases{THolder}"/> (loads); the root's
/// files are handled by <see cref="PlannerFiles"/>. The actor feeds them its messages and carries out
/// what they return: tell, journal, time, write. On start it takes the root's catalog lock (one
/// planner per root), recovers the catalog and reconciles it with the disk before any command.
/// </summary>
internal sealed class PlannerActor : CatalogJournalActor, IWithTimers
{
    // How long a stopping planner waits for its step removals before letting go of the root anyway.
    private static readonly TimeSpan RemovalPatience = TimeSpan.FromSeconds(30);

    private readonly ActorCkptSettings _settings;
    private readonly PlannerFiles _files;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<IActorRef> _writers = new();
    private readonly string _writerPoolName;
    private readonly SaveRounds<IActorRef> _rounds;
    private readonly StepRemovals<IActorRef> _removals;
    private readonly LoadLeases<IActorRef> _leases = new();
    // Lease requests held back (hosts not announced yet, the object tier not listed yet), by asker and request id.
    private readonly HashSet<(IActorRef, Guid)> _leasesWaiting = new();
    private readonly QueueAgreement _agreement = new();
    // The memory tier's holders, by host: where memory rounds place copies and loads find them.
    private readonly HolderDirectory<IActorRef> _holders = new();
    // The bytes a copy of each file of the memory steps this planner committed takes (after a restart: estimated from the catalog).
    private readonly Dictionary<long, IReadOnlyDictionary<string, long>> _copyBytes = new();
    // When the planner was made: the holds on loads (for hosts, for the object tier's listing) end half a
    // plan timeout after it, within the deadline of ranks that asked while it recovered.
    private readonly DateTimeOffset _madeAt = DateTimeOffset.UtcNow;
    // When it settled its recovered catalog and began to answer: lost-after counts from here, since what
    // hosts said during a long recovery waited in the supervisor's stash until then.
    private DateTimeOffset _settledAt = DateTimeOffset.UtcNow;
    // Memory steps being written to disk in the background, by step.
    private readonly Dictionary<long, PersistJob> _persists = new();
    // The holder process each file of a persist went to: when it stops, the file goes again.
    private readonly Dictionary<(long Step, string File), IActorRef> _persistingBy = new();
    // Copies re-replication asked for and not yet answered, (step, file, target host), and the holder asked.
    private readonly Dictionary<(long Step, string File, string Target), IActorRef> _copying = new();
    // Committed steps whose metadata recovery did not find under the root (the wrong root mounted,
    // or removed by hand): left as they are, and neither counted by retention, named by the
    // tracker, nor removed as debris, so that whole steps are never deleted in their place.
    private readonly HashSet<long> _missing = new();
    // Members seen leaving on purpose (Leaving or Exiting) and not yet removed: a holder of theirs
    // that stops is not lost, though the cluster's own state may have dropped them already.
    private readonly HashSet<Address> _leaving = new();
    // Nodes whose writers write to another root, refused (logged once each); and this root's id, read once.
    private readonly HashSet<Address> _refusedWriterNodes = new();
    private string? _rootId;
    // Deleted steps whose memory copies go when their files do (after any load of them).
    private readonly HashSet<long> _copiesGoWithFiles = new();
    // Hosts whose holder was still scanning when lost-after passed, told once.
    private readonly HashSet<string> _toldStillScanning = new(StringComparer.Ordinal);
    private readonly bool _supervised;
    // The catalog is kept outside the root and was opened from it: the root is marked before each journal write,
    // up to _marked (the last event the mark allows for, as read at the start or written since).
    private bool _marksRoot;
    private long? _marked;
    private IDisposable? _catalogLock;
    // A catalog kept outside the root: no other planner journals into it while this one runs (a copy of the root).
    private CatalogClaim? _claim;
    // Stopping (a failed start, a claim lost, a mark not written): nothing more is journaled.
    private bool _stopping;
    // The object tier's uploader (a child), when the tier is on, and whether its first listing is in the catalog.
    private IActorRef? _uploader;
    private bool _uploadsListed;
    // Who waits for the uploads while steps due for them are still being persisted to disk (their uploads not asked for yet).
    private readonly List<IActorRef> _awaitingPersists = new();
    // Those waiting for every persist to end (AwaitPersists).
    private readonly List<IActorRef> _awaitingDisk = new();

    /// <summary>Creates the planner; use <see cref="Props"/>.</summary>
    public PlannerActor(CheckpointStore store, ActorCkptSettings settings, string persistenceId, string writerPoolName, bool supervised)
        : base(persistenceId, settings.CatalogSnapshotEvery)
    {
        (_settings, _writerPoolName, _supervised) = (settings, writerPoolName, supervised);
        _files = new PlannerFiles(store, settings.KillAt, _log);
        _rounds = new SaveRounds<IActorRef>(new RoundSettings(settings.PlanTimeout, settings.WriteTimeout, settings.Planning,
            settings.Tiers, settings.MemoryTier.Replicas, settings.MemoryTier.AckTimeout, CopyBytes), Context.System.NodeOf);
        _removals = new StepRemovals<IActorRef>(settings.Retention, grace: settings.RemovalGrace > TimeSpan.Zero);

        Recover<RecoveryCompleted>(_ => Reconcile());

        Command<RegisterWriters>(m => Register(m.Writers, m.RootId));
        Command<WritersListed>(m => Register(m.Writers, m.RootId));
        Command<RegisterHolder>(OnRegisterHolder);
        Command<HolderScanning>(m =>
        {
            if (!_holders.Scanning(m.Host, m.Holder)) return;
            Context.Watch(m.Holder);
            _log.Info("Memory tier: host '{0}' is there; its replica holder {1} is scanning its store", m.Host, m.Holder.Path);
        });
        Command<HolderScanFailed>(m =>
        {
            if (_holders.StoppedScanning(m.Holder) is null) return;
            _log.Warning("Memory tier: the replica holder {0} of host '{1}' could not scan its store: {2}", m.Holder.Path, m.Host, m.Cause);
            MarkSilentHostsLost();
        });
        Command<Terminated>(t =>
        {
            _writers.Remove(t.ActorRef);
            // A holder that stopped during its scan: its host is silent again.
            if (_holders.StoppedScanning(t.ActorRef) is not null) MarkSilentHostsLost();
            if (_holders.HostOf(t.ActorRef) is { } of)
            {
                if (_holders.Lost(t.ActorRef) is { } host)
                {
                    if (!LeftGracefully(t.ActorRef.Path.Address)) HostLost(host, $"its last replica holder {t.ActorRef.Path} stopped");
                    else HostLeft();
                }
                HolderStopped(t.ActorRef, of);
            }
            Remove(_removals.Freed(_leases.ReleaseAll(t.ActorRef)));
        });
        // Writers are discovered from membership, so a planner that just took over the singleton finds every pool already up.
        Command<ClusterEvent.MemberUp>(m =>
        {
            if (!m.Member.HasRole(ClusterRoles.Writer)) return;
            Context.ActorSelection(new RootActorPath(m.Member.Address) / "user" / _writerPoolName).Tell(new ListWriters());
            // A planner that took over asks the holders again: they announced themselves to its predecessor.
            if (_settings.MemoryTier.Enabled) Context.ActorSelection(new RootActorPath(m.Member.Address) / "user" / HolderName).Tell(new ListHeldReplicas());
        });
        Command<ClusterEvent.MemberLeft>(m => _leaving.Add(m.Member.Address));
        Command<ClusterEvent.MemberExited>(m => _leaving.Add(m.Member.Address));
        Command<ClusterEvent.MemberRemoved>(m =>
        {
            _writers.RemoveAll(w => w.Path.Address.Equals(m.Member.Address));
            // Its ranks never report: their rounds abort now, not at the write deadline.
            Carry(_rounds.NodeLost(m.Member.Address.ToString()));
            // A node that left on purpose (a job stopping) keeps its tmpfs copies: they are not lost, only not served until it is back.
            var graceful = m.PreviousStatus == MemberStatus.Exiting || LeftGracefully(m.Member.Address);
            var stoppedScanning = _holders.ScanningHolders.Where(h => h.Holder.Path.Address.Equals(m.Member.Address)).Count(h => _holders.StoppedScanning(h.Holder) is not null);
            foreach (var holder in _holders.LiveHosts.SelectMany(_holders.HoldersOn).Where(h => h.Path.Address.Equals(m.Member.Address)).ToArray())
            {
                var of = _holders.HostOf(holder)!;
                if (_holders.Lost(holder) is { } host)
                {
                    if (!graceful) HostLost(host, $"{m.Member.Address} left the cluster");
                    else HostLeft();
                }
                HolderStopped(holder, of);
            }
            _leaving.Remove(m.Member.Address);
            if (stoppedScanning > 0) MarkSilentHostsLost();
        });
        Command<ReplicaCopied>(OnReplicaCopied);
        Command<ReplicaCopyFailure>(m =>
        {
            _copying.Remove((m.Step, m.File, m.Host), out _);
            _log.Warning("Memory tier: host '{0}' could not make a copy of '{1}' of step {2}: {3}", m.Host, m.File, m.Step, m.Cause);
        });
        Command<ReplicasDropped>(m => _log.Debug("Memory tier: host '{0}' dropped step {1} ({2} bytes)", m.Host, m.Step, m.FreedBytes));
        Command<DropReplicasFailure>(m => _log.Warning("Memory tier: host '{0}' could not drop step {1}: {2}", m.Host, m.Step, m.Cause));
        Command<ListWriters>(_ => Sender.Tell(new WritersListed(_writers.ToArray())));
        // A step the catalog has committed is refused at a new round's first plan (the disk, and a deletion
        // under way, which may end before the other ranks' plans come, are checked at planning): with several
        // ranks, a rank saving it again alone waited out the plan deadline, told another rank "did not send its plan".
        Command<SubmitLocalPlan>(m => Carry(_rounds[m.Step] is null && Catalog[m.Step] is { Status: CheckpointStatus.Committed } && WhyNotWritable(m.Step) is { } why
            ? [new RoundDecision<IActorRef>.RefusePlan(m.Step, Sender, why)]
            : _rounds.Submit(m, Sender, _writers.Count > 0)));
        Command<ReportWrites>(m => Carry(_rounds.Report(m)));
        Command<ReassignWrite>(m =>
        {
            // A writer is lost with its node: none of that node's writers is a candidate any more
            // (a stale request, of an attempt that is over, changes nothing).
            if (_rounds.Reassigns(m.Step, m.SaveId))
                _writers.RemoveAll(w => w.Equals(m.LostWriter) || (w.Path.Address.HasGlobalScope && w.Path.Address.Equals(m.LostWriter.Path.Address)));
            Carry(_rounds.Reassign(m.Step, m.SaveId, m.File, m.LostWriter.Path.ToString(), Sender, _writers.ToArray(), m.Replica));
        });
        // Too late when the save committed (the commit stashed this request until it was journaled) or is over.
        Command<AbortSave>(m => Carry(_rounds.Cancel(m, Catalog[m.Step] is { Status: CheckpointStatus.Committed or CheckpointStatus.Deleted })));
        Command<RoundDeadlinePassed>(m => Carry(_rounds.DeadlinePassed(m.Step, m.Kind)));
        Command<AcquireLoadLease>(m => OnAcquireLoadLease(m));
        Command<LeaseAskedAgain>(m => OnAcquireLoadLease(m.Request, again: true));
        Command<ResolveLatestStep>(OnResolveLatestStep);
        Command<ReplicaRefused>(OnReplicaRefused);
        Command<ListHolders>(_ => Sender.Tell(new HoldersListed(_holders.LiveHosts.ToArray())));
        Command<PersistReplicaSuccess>(OnPersisted);
        Command<PersistReplicaFailure>(OnPersistFailed);
        Command<PersistTimedOut>(m => AbandonPersist(m.Step, $"not done within {_settings.PersistTimeout} (actorckpt.tiers.disk.persist-timeout)"));
        Command<LostAfterPassed>(_ => MarkSilentHostsLost());
        Command<ReleaseLoadLease>(m => Remove(_removals.Freed(_leases.Release(m.Step, Sender))));
        Command<CollectGarbage>(m => OnCollectGarbage(Sender, m.KeepLast));
        Command<DeletionFinished>(m => _removals.Finished(m.Step, m.Error).ToList().ForEach(c => Answer(c.Asker, c.Report)));
        Command<RemovalGraceEnded>(_ => Remove(_removals.EndGrace(_leases.IsHeld)));
        Command<AgreeQueueEmpty>(m => _agreement.Vote(m, Sender).ToList().ForEach(v => v.ReplyTo.Tell(v.Answer)));
        Command<WithdrawQueueVote>(m => Sender.Tell(_agreement.Withdraw(m)));
        Command<UploadStepSuccess>(OnUploaded);
        Command<UploadStepFailure>(m =>
        {
            _log.Warning("Object tier: step {0} was not uploaded: {1}; it stays on the local tiers only", m.Step, m.Cause);
            Remove(_removals.Freed(_leases.Release(m.Step, Sender)));
        });
        Command<UploadsFound>(OnUploadsFound);
        Command<AwaitPersists>(_ =>
        {
            _awaitingDisk.Add(Sender);
            PersistsEnded();
        });
        Command<AwaitUploads>(_ =>
        {
            if (_uploader is null)
            {
                Sender.Tell(UploadsIdle.Instance);
                return;
            }
            _awaitingPersists.Add(Sender);
            PassOnUploadWaiters();
        });
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>
    /// Props of the planner over <paramref name="store"/>, journaling its catalog as
    /// <paramref name="persistenceId"/>; it asks the pools named <paramref name="writerPoolName"/>
    /// for their writers. Unsupervised: hosts use <see cref="PlannerSupervisorActor.Props"/>, which
    /// creates it with <paramref name="supervised"/> so it tells its supervisor when it has started.
    /// </summary>
    public static Props Props(CheckpointStore store, ActorCkptSettings settings, string persistenceId = "actorckpt-catalog",
        string writerPoolName = "actorckpt-writers", bool supervised = false) =>
        Akka.Actor.Props.Create(() => new PlannerActor(store, settings, persistenceId, writerPoolName, supervised)).WithDispatcher(settings.PlannerDispatcher);

    /// <inheritdoc />
    protected override void PreStart()
    {
        // One planner per root: a second one (another job, or `actorckpt gc`) would journal over
        // this one's catalog and remove its saves in flight as debris.
        _catalogLock = _files.TakeCatalogLock();
        try
        {
            // Before recovery: what it reads must not change under it.
            _claim = CatalogClaim.Take(Context.System.Settings.Config, _files.Root, PersistenceId);
            StartOnceHeld();
        }
        catch
        {
            // No PostStop follows a failed PreStart: the next try must find the root and the catalog free.
            _claim?.Dispose();
            _catalogLock.Dispose();
            (_claim, _catalogLock) = (null, null);
            throw;
        }
    }

    /// <summary>The rest of the start, once the root and its catalog are this planner's.</summary>
    private void StartOnceHeld()
    {
        if (_settings.ObjectTier.Enabled)
        {
            // A node refuses such a tier at its start (CheckpointNode.Start); a planner started on its own only logs it.
            if (ObjectTierRoot.Problem(_settings.ObjectTier.Root, _files.Root) is { } problem)
                _log.Error("Object tier: {0}; nothing is uploaded", problem);
            else
                _uploader = Context.ActorOf(ObjectTierActor.Props(_files.Store, _settings), "object-tier");
        }
        if (_removals.Holding) Timers.StartSingleTimer(nameof(RemovalGraceEnded), new RemovalGraceEnded(), _settings.RemovalGrace);
        if (Context.System.IsClustered())
            Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
                typeof(ClusterEvent.MemberUp), typeof(ClusterEvent.MemberLeft), typeof(ClusterEvent.MemberExited), typeof(ClusterEvent.MemberRemoved));
        else
            Context.ActorSelection("/user/" + _writerPoolName).Tell(new ListWriters());
    }

    /// <summary>
    /// A restart in place loses the rounds in flight, and their shard actors, which watch this
    /// actor, see no stop: each hears now that its save ended, naming the failure, rather than at its
    /// verdict deadline (a cancel did not end it either: the new instance knew no round to abort).
    /// A round that was committing may have committed: the catalog, recovered by the new instance, tells.
    /// </summary>
    protected override void PreRestart(Exception reason, object message)
    {
        EndRoundsInFlight($"the planner failed and restarted ({reason.GetType().Name}: {reason.Message})");
        base.PreRestart(reason, message);
    }

    /// <summary>Tells the ranks of every round in flight that it ended for <paramref name="why"/>; one that was committing may have committed.</summary>
    private void EndRoundsInFlight(string why)
    {
        foreach (var round in _rounds.InFlight)
        {
            var text = round.Phase == RoundPhase.Committing ? $"{why} while committing step {round.Step}; the catalog tells whether it committed" : why;
            foreach (var shard in round.Shards.Values.Concat(round.NextAttempt.Select(p => p.Shard)).Distinct())
                shard.Tell(new CheckpointAborted(round.Step, text));
        }
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        if (Context.System.IsClustered()) Cluster.Get(Context.System).Unsubscribe(Self);
        // Null when a restart's constructor failed (its store out of reach): nothing of this instance's runs.
        _files?.AwaitRemovals(RemovalPatience);
        _claim?.Dispose();
        _catalogLock?.Dispose();
        base.PostStop();
    }

    /// <summary>Carries out a save round's decisions, in order.</summary>
    private void Carry(IEnumerable<Decision> decisions)
    {
        foreach (var decision in decisions)
        {
            foreach (var (to, message) in RoundMessages.Of(decision)) to.Tell(message);
            var step = decision.Step;
            switch (decision)
            {
                case Decision.StartDeadline d: Timers.StartSingleTimer(("deadline", step), new RoundDeadlinePassed(step, d.Kind), d.After); break;
                case Decision.CancelDeadline: Timers.Cancel(("deadline", step)); break;
                // A memory round planned before R hosts announced themselves would abort: it waits for them, within its plan deadline.
                case Decision.PlanWrites when WaitsForHolders(step): break;
                case Decision.PlanWrites:
                    Carry(_rounds.Plan(step, _writers.ToArray(), WhyNotWritable(step), MemoryView(), WhyRetentionDrops(step)));
                    break;
                case Decision.EvictMemory e: Evict(e.Victim, e.Reason); break;
                case Decision.RecordStart s:
                    // A memory round writes nothing under the root until its commit.
                    Record(new SaveStarted(step, s.SaveId, s.WorldSize, CheckpointLayout.StepDirectory(step), DateTimeOffset.UtcNow, s.Tier),
                        _ => Carry(s.Tier == StorageTier.Disk && _files.Prepare(step) is { } failure ? _rounds.Fail(step, failure) : _rounds.Started(step)));
                    break;
                case Decision.MoveFile m: _log.Warning("Step {0}: '{1}' moves from lost writer {2} to {3}", step, m.File.FileName, m.Lost, m.Writer.Path); break;
                case Decision.CommitStep c: Commit(c); break;
                case Decision.CommitMemoryStep c: CommitMemory(c); break;
                case Decision.AbortStep { Journal: true } a:
                    _log.Warning("Aborted step {0}: {1}", step, a.Reason);
                    Record(new SaveAborted(step, a.SaveId, a.Reason, DateTimeOffset.UtcNow));
                    break;
                case Decision.EndRound e:
                    // A memory round's copies go whether or not writers may still be busy: they carry the attempt's tag, so only its own files go.
                    if (e.Tier == StorageTier.Memory) DropAborted(step, e.Files);
                    else if (e.RemoveDebris) _files.RemoveUncommitted(step);
                    foreach (var (plan, shard) in e.Resubmit) Self.Tell(plan, shard);
                    break;
                case Decision.Warn w: _log.Warning(w.Text); break;
            }
        }
    }

    /// <summary>The metadata goes into place; the step is acknowledged only once the journal has the commit too (a crash in between is settled on recovery from the disk).</summary>
    private void Commit(Decision.CommitStep commit)
    {
        var (checksum, summary, failure) = _files.Commit(commit);
        if (failure is not null)
        {
            Carry(_rounds.Fail(commit.Step, failure));
            return;
        }
        Record(new SaveCommitted(commit.Step, commit.SaveId, checksum, summary.Files, summary.Bytes, DateTimeOffset.UtcNow), _ =>
        {
            _files.Journaled(summary);
            var announce = _rounds.Committed(commit.Step, summary);
            UploadIfDue(commit.Step);
            // Not the step just committed, though a newer one committed first (saves in flight
            // together): its caller hears "committed", so it stays until retention runs again.
            ApplyRetention(spare: commit.Step);
            // Heard after retention's deletions are journaled, so a host that stops as soon as its
            // save is committed does not leave a step retention had already given up.
            DeferAsync(announce, Carry);
        });
    }

    /// <summary>
    /// The memory metadata goes into place, then the step commits when the journal has
    /// <see cref="MemoryStepCommitted"/> with every copy's holder; the budget may then let older memory steps go.
    /// </summary>
    private void CommitMemory(Decision.CommitMemoryStep commit)
    {
        var (summary, copies, failure) = _files.CommitMemory(commit);
        if (failure is not null)
        {
            Carry(_rounds.Fail(commit.Step, failure));
            return;
        }
        Record(new MemoryStepCommitted(commit.Step, commit.SaveId, summary.Files, summary.Bytes, copies!, DateTimeOffset.UtcNow), _ =>
        {
            _log.Info("Committed step {0} in memory: {1} files, {2} bytes, held by {3}", commit.Step, summary.Files, summary.Bytes, string.Join(", ", copies!.Hosts));
            _copyBytes[commit.Step] = commit.Copies.Select(c => c.File).DistinctBy(f => f.FileName).ToDictionary(f => f.FileName, CopyBytes, StringComparer.Ordinal);
            var announce = _rounds.Committed(commit.Step, summary);
            // A host lost after its acknowledgement and before this commit: its copies are recorded lost now.
            foreach (var gone in copies!.Hosts.Where(h => !_holders.IsLive(h)))
                Record(new ReplicasLost(commit.Step, gone, null, "its holder stopped before the step committed", DateTimeOffset.UtcNow), _ => ReReplicate());
            if (commit.Persist) StartPersist(commit, copies);
            TrimMemory();
            DeferAsync(announce, Carry);
        });
    }

    /// <summary>
    /// Starts writing memory step <paramref name="commit"/> to disk in the background: the step
    /// directory is made, and each file's first live holder writes it from its copy. Training is not
    /// held: the save was announced committed already.
    /// </summary>
    private void StartPersist(Decision.CommitMemoryStep commit, MemoryCopies copies)
    {
        var holders = copies.Shards.ToDictionary(s => s.File, s => (IReadOnlyList<string>)s.Holders.Select(h => copies.Hosts[h]).ToArray(), StringComparer.Ordinal);
        var job = new PersistJob(commit.Step, commit.SaveId, commit.Plan, commit.Results, holders);
        var (sends, problem) = job.Start(_holders.IsLive);
        if (problem is not null || _files.Prepare(commit.Step) is { } failure && (problem = failure) is not null)
        {
            _log.Warning("Memory tier: step {0} is not persisted to disk: {1}", commit.Step, problem);
            return;
        }
        _persists[commit.Step] = job;
        foreach (var send in sends) SendPersist(job, send);
        Timers.StartSingleTimer(("persist", commit.Step), new PersistTimedOut(commit.Step), _settings.PersistTimeout);
        _log.Info("Memory tier: persisting step {0} to disk from {1} holder(s)", commit.Step, sends.Select(s => s.Host).Distinct().Count());
    }

    private void SendPersist(PersistJob job, PersistSend send)
    {
        var holder = _holders.HoldersOn(send.Host)[0];
        _persistingBy[(job.Step, send.File.FileName)] = holder;
        holder.Tell(new PersistReplica(job.Step, job.SaveId, send.File, send.Expected));
    }

    /// <summary>A holder wrote its file; after the last one the disk metadata commits the step on disk and the journal records it on both tiers.</summary>
    private void OnPersisted(PersistReplicaSuccess m)
    {
        if (!_persists.TryGetValue(m.Step, out var job) || !job.Succeeded(m.File, Context.System.NodeOf(Sender), m.Host)) return;
        _persists.Remove(m.Step);
        ForgetPersisting(m.Step);
        Timers.Cancel(("persist", m.Step));
        if (Catalog[m.Step] is not { Status: CheckpointStatus.Committed } entry || entry.SaveId != job.SaveId)
        {
            _log.Warning("Memory tier: step {0} was deleted while it was written to disk; its disk copy is removed", m.Step);
            _files.RemoveUncommitted(m.Step);
            PersistsEnded();
            return;
        }
        var (checksum, summary, failure) = _files.Commit(new Decision.CommitStep(job.Step, job.SaveId, job.PlanAsWritten(), job.Results));
        if (failure is not null)
        {
            _log.Warning("Memory tier: step {0} could not be committed on disk: {1}", job.Step, failure);
            _files.RemoveUncommitted(job.Step);
            PersistsEnded();
            return;
        }
        Record(new StepPersisted(job.Step, job.SaveId, checksum, DateTimeOffset.UtcNow), _ =>
        {
            _files.Journaled(summary);
            UploadIfDue(job.Step);
            PersistsEnded();
            ApplyRetention();
            TrimMemory();
        });
    }

    /// <summary>A holder could not write its file: the next holder tries; a corrupt copy is marked lost; with none left the persist is abandoned.</summary>
    private void OnPersistFailed(PersistReplicaFailure m)
    {
        if (!_persists.TryGetValue(m.Step, out var job)) return;
        _log.Warning("Memory tier: host '{0}' could not write '{1}' of step {2} to disk: {3}", m.Host, m.File, m.Step, m.Cause);
        if (m.Corrupt) OnReplicaRefused(new ReplicaRefused(m.Step, m.File, m.Host, m.Cause));
        if (job.Failed(m.File, _holders.IsLive) is { } next) SendPersist(job, next);
        else AbandonPersist(m.Step, $"no holder of '{m.File}' could write it");
    }

    /// <summary>Gives the persist of <paramref name="step"/> up: its directory goes; the step stays in memory only.</summary>
    private void AbandonPersist(long step, string reason)
    {
        if (!_persists.Remove(step)) return;
        ForgetPersisting(step);
        PersistsEnded();
        Timers.Cancel(("persist", step));
        _log.Warning("Memory tier: gave up persisting step {0} to disk: {1}; it stays in memory only", step, reason);
        _files.RemoveUncommitted(step);
    }

    /// <summary>True when the round of <paramref name="step"/> goes to memory and fewer than R hosts have a live holder and a writer yet.</summary>
    private bool WaitsForHolders(long step) =>
        _settings.MemoryTier.Enabled && (MemoryView()?.WritersByHost.Count ?? 0) < _settings.MemoryTier.Replicas && _rounds[step] is { } round
        && _settings.Tiers.Problem(round.Requested) is null && _settings.Tiers.Choose(step, round.Requested).Round == StorageTier.Memory;

    /// <summary>
    /// Why a disk save of <paramref name="step"/> would be gone as it committed (retention keeps newer
    /// steps only); null when it would stay, or when the object tier uploads it (its copy there stays).
    /// </summary>
    private string? WhyRetentionDrops(long step) =>
        _uploader is not null && _settings.ObjectTier.Due(step) ? null : _settings.Retention.DeletesOnCommit(step, PresentDiskSteps);

    /// <summary>Why <paramref name="step"/> cannot be saved now: committed (on disk or in memory) or being deleted; null when it can.</summary>
    private string? WhyNotWritable(long step) =>
        _files.WhyNotWritable(step, _removals.IsBusy(step))
        ?? Catalog[step] switch
        {
            // Its metadata went (removed, a FIFO or a link in its place): the catalog still vouches for its files.
            { OnDisk: true } => new StepAlreadyCommittedException(step, _files.Root).Message,
            { Status: CheckpointStatus.Committed, InMemory: true } => $"step {step} is already committed in memory in '{_files.Root}'",
            { Status: CheckpointStatus.Committed, OnObject: true } => $"step {step} is already committed in the object tier of '{_files.Root}'",
            { Status: CheckpointStatus.Committed } => $"step {step} is already committed in '{_files.Root}'",
            _ => null,
        };

    /// <summary>The holders as a memory round sees them: null when the tier is off or no holder has announced itself.</summary>
    private MemoryView<IActorRef>? MemoryView()
    {
        if (!_settings.MemoryTier.Enabled || _holders.LiveHosts.Count == 0) return null;
        var hostOfNode = HostOfNode();
        var writersByHost = _writers
            .Select(w => (Writer: w, Host: hostOfNode.GetValueOrDefault(Context.System.NodeOf(w))))
            .Where(x => x.Host is not null)
            .GroupBy(x => x.Host!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<IActorRef>)g.Select(x => x.Writer).ToArray(), StringComparer.Ordinal);
        return new MemoryView<IActorRef>(writersByHost, node => hostOfNode.GetValueOrDefault(node), HeldSteps(), Budget());
    }

    /// <summary>The host of each node that has a live holder, by the node's address.</summary>
    private Dictionary<string, string> HostOfNode() =>
        _holders.LiveHosts.SelectMany(host => _holders.HoldersOn(host).Select(h => (Node: Context.System.NodeOf(h), Host: host)))
            .GroupBy(x => x.Node, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().Host, StringComparer.Ordinal);

    /// <summary>The bytes a copy of <paramref name="file"/> takes on its host, as the budget counts them.</summary>
    private long CopyBytes(FileWritePlan file) => ReplicaFile.SizeOf(file, _settings.ChecksumBlockSize);

    /// <summary>Evicts the memory steps the budget lets go after a commit or a persist, each with its own reason.</summary>
    private void TrimMemory()
    {
        foreach (var (victim, why) in Budget().Trimmed(HeldSteps())) Evict(victim, why);
    }

    private MemoryBudget Budget() => new(_holders.Budgets, _settings.MemoryTier.KeepLast, _settings.MemoryTier.KeepPersisted);

    /// <summary>
    /// The committed memory steps still held, as the budget sees them: each host's copies not marked
    /// lost, each as large as this planner placed it, or for steps an earlier planner committed, the
    /// file's share of the step's bytes plus one header page (the catalog records the step's bytes,
    /// not each copy's).
    /// </summary>
    private IReadOnlyList<HeldStep> HeldSteps() => Catalog.Entries.Where(e => e.InMemory).Select(e =>
    {
        // Leased by a load, or being written to disk: it must stay while that lasts.
        var pinned = _leases.IsHeld(e.Step) || _persists.ContainsKey(e.Step);
        var placed = _copyBytes.GetValueOrDefault(e.Step);
        var perFile = (e.Files > 0 ? e.Bytes / e.Files : 0) + 4096;
        var bytes = e.Memory!.Shards.SelectMany(s => s.Holders.Where(h => !s.Lost.Contains(h)).Select(h => (Host: e.Memory.Hosts[h], s.File)))
            .GroupBy(c => c.Host, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Sum(c => placed?.GetValueOrDefault(c.File, perFile) ?? perFile), StringComparer.Ordinal);
        return new HeldStep(e.Step, Committed: true, e.Persisted, pinned, bytes);
    })
    // Memory rounds under way hold (or are receiving) their copies too.
    .Concat(_rounds.InFlight.Where(r => r.InMemory && r.Copies.Count > 0 && Catalog[r.Step] is not { InMemory: true })
        .Select(r => new HeldStep(r.Step, Committed: false, Persisted: false, Pinned: false, MemoryAssignments.BytesByHost(r.Copies, CopyBytes))))
    .OrderBy(h => h.Step).ToArray();

    /// <summary>Journals that memory step <paramref name="step"/> is released, then has every holder drop it.</summary>
    private void Evict(long step, string reason)
    {
        _log.Info("Memory tier: evicting step {0}: {1}", step, reason);
        _copyBytes.Remove(step);
        // Sound copies: their files may serve as spares for the next replicas (recycle-for).
        Record(new ReplicasEvicted(step, reason, DateTimeOffset.UtcNow), _ => DropEverywhere(step, null, reason, recycle: true));
    }

    /// <summary>An aborted memory round's copies go from every holder (only the attempt's <paramref name="files"/>), and its memory metadata unless the step is held from elsewhere.</summary>
    private void DropAborted(long step, IReadOnlyList<string>? files)
    {
        if (files is { Count: > 0 }) DropEverywhere(step, files.ToArray(), "its memory round was aborted");
        if (Catalog[step] is not { InMemory: true }) _files.RemoveMemory(step);
    }

    /// <summary>
    /// Tells every live holder to drop <paramref name="step"/>'s copies (of <paramref name="files"/>, or all;
    /// with <paramref name="recycle"/>, their files may be kept as spares), and removes its memory metadata.
    /// </summary>
    private void DropEverywhere(long step, string[]? files, string reason, bool recycle = false)
    {
        foreach (var holder in _holders.LiveHosts.SelectMany(_holders.HoldersOn)) holder.Tell(new DropReplicas(step, files, reason, recycle));
        if (files is null) _files.RemoveMemory(step);
    }

    /// <summary>A host has no live holder left: its copies of every memory step still held are journaled lost (those not marked already).</summary>
    private void HostLost(string host, string reason)
    {
        _log.Warning("Memory tier: host '{0}' is lost: {1}", host, reason);
        foreach (var entry in HeldUnmarked(host)) Record(new ReplicasLost(entry.Step, host, null, reason, DateTimeOffset.UtcNow), _ => ReReplicate());
    }

    /// <summary>
    /// Holder process <paramref name="holder"/> on <paramref name="host"/> stopped (crashed, left, or
    /// one of the host's processes restarting): the files it was writing to disk go to another process
    /// of the host while one is live, else to their next holders; the copies it was making are planned again.
    /// </summary>
    private void HolderStopped(IActorRef holder, string host)
    {
        foreach (var (step, file) in _persistingBy.Where(p => p.Value.Equals(holder)).Select(p => p.Key).ToArray())
        {
            _persistingBy.Remove((step, file));
            // A persist abandoned for an earlier file of this loop sends nothing more.
            if (!_persists.TryGetValue(step, out var job) || !job.PendingOn(host).Contains(file)) continue;
            if ((_holders.IsLive(host) ? job.Again(file) : job.Failed(file, _holders.IsLive)) is { } next) SendPersist(job, next);
            else AbandonPersist(step, $"no holder of '{file}' is left after host '{host}' went");
        }
        var copies = _copying.Where(c => c.Value.Equals(holder)).Select(c => c.Key).ToArray();
        foreach (var copy in copies) _copying.Remove(copy);
        if (copies.Length > 0) ReReplicate();
    }

    private void ForgetPersisting(long step)
    {
        foreach (var key in _persistingBy.Keys.Where(k => k.Step == step).ToArray()) _persistingBy.Remove(key);
    }

    /// <summary>
    /// A host left on purpose: its copies are not lost (they come back with it), but while the job
    /// goes on without it they are not served, so re-replication makes up for them; not when this
    /// planner's own system is stopping (the whole job is).
    /// </summary>
    private void HostLeft()
    {
        if (CoordinatedShutdown.Get(Context.System).ShutdownReason is null) ReReplicate();
    }

    /// <summary>
    /// With <c>tiers.memory.re-replicate</c> on: the newest committed memory step's files left under R
    /// copies on live hosts get new ones (<see cref="ReReplication"/>), each made by the target host's
    /// holder from a surviving copy (<see cref="CopyReplica"/>) and journaled when it is whole.
    /// </summary>
    private void ReReplicate()
    {
        var tier = _settings.MemoryTier;
        if (!tier.ReReplicate || Catalog.Entries.Where(e => e.InMemory).MaxBy(e => e.Step) is not { Memory: { } copies } newest) return;
        foreach (var copy in ReReplication.Plan(copies, tier.Replicas, _holders.IsLive, _holders.LiveHosts.ToArray()))
        {
            var target = _holders.HoldersOn(copy.Target)[0];
            if (!_copying.TryAdd((newest.Step, copy.File, copy.Target), target)) continue;
            _log.Info("Memory tier: host '{0}' makes a copy of '{1}' of step {2} from host '{3}'", copy.Target, copy.File, newest.Step, copy.Source);
            target.Tell(new CopyReplica(newest.Step, copy.File, _holders.HoldersOn(copy.Source)[0]));
        }
    }

    /// <summary>A new copy is whole on its host: journaled, and counted against that host's budget.</summary>
    private void OnReplicaCopied(ReplicaCopied m)
    {
        if (!_copying.Remove((m.Step, m.File, m.Host), out _)) return;
        if (Catalog[m.Step] is not { InMemory: true })
        {
            // Evicted or deleted meanwhile: the new copy goes too.
            Sender.Tell(new DropReplicas(m.Step, [m.File], "its step left memory while it was copied"));
            return;
        }
        Record(new ReplicasAdded(m.Step, m.Host, [m.File], DateTimeOffset.UtcNow),
            _ => _log.Info("Memory tier: host '{0}' holds a new copy of '{1}' of step {2}", m.Host, m.File, m.Step));
    }

    /// <summary>Memory steps still held with a copy on <paramref name="host"/> not marked lost.</summary>
    private CatalogEntry[] HeldUnmarked(string host) => Catalog.Entries.Where(e => e.InMemory && e.Memory!.IndexOf(host) is var h && h >= 0
        && e.Memory.Shards.Any(s => s.Holders.Contains(h) && !s.Lost.Contains(h))).ToArray();

    /// <summary>
    /// True when the node at <paramref name="address"/> is leaving on purpose, or this planner's own
    /// system is shutting down: its holders' copies stay in tmpfs and come back with it, so they are not journaled lost.
    /// </summary>
    private bool LeftGracefully(Address address)
    {
        if (CoordinatedShutdown.Get(Context.System).ShutdownReason is not null) return true;
        if (!Context.System.IsClustered()) return false;
        if (_leaving.Contains(address.HasGlobalScope ? address : Cluster.Get(Context.System).SelfAddress)) return true;
        var member = Cluster.Get(Context.System).State.Members.FirstOrDefault(m => m.Address.Equals(address.HasGlobalScope ? address : Cluster.Get(Context.System).SelfAddress));
        return member?.Status is MemberStatus.Leaving or MemberStatus.Exiting;
    }

    /// <summary>
    /// Once lost-after has passed since the planner settled its recovered catalog, hosts recorded as holders that never announced themselves
    /// are lost; not one whose holder is still scanning its store (told once): it is there, and its copies with it.
    /// </summary>
    private void MarkSilentHostsLost()
    {
        if (DateTimeOffset.UtcNow - _settledAt < _settings.MemoryTier.LostAfter) return;
        foreach (var host in Unannounced().Where(h => HeldUnmarked(h).Length > 0))
        {
            if (!_holders.IsScanning(host)) HostLost(host, $"it did not announce itself within {_settings.MemoryTier.LostAfter} of the planner's start");
            else if (_toldStillScanning.Add(host))
                _log.Warning("Memory tier: host '{0}' has not announced what it holds within {1} of the planner's start: its replica holder is still scanning its store, "
                    + "so its copies are not marked lost, and loads wait for it (up to half of actorckpt.planner.plan-timeout)", host, _settings.MemoryTier.LostAfter);
        }
    }

    /// <summary>The holder actor's name on every node (beside the writer pool).</summary>
    private string HolderName => _writerPoolName.EndsWith("-writers", StringComparison.Ordinal)
        ? _writerPoolName[..^"-writers".Length] + "-replicas"
        : _writerPoolName + "-replicas";

    /// <summary>
    /// Settles the recovered catalog against the disk before any command is handled (commands are
    /// stashed while events persist, and the last step runs in the last event's handler): debris goes,
    /// the outcome of every save that was in flight is journaled, the tracker moves, retention catches up.
    /// </summary>
    private void Reconcile()
    {
        if (!Open(out var opening)) return;
        var plan = _files.Reconcile(Catalog);
        _missing.UnionWith(plan.Missing);
        // A step deleted locally (also one whose object-tier copy stays) waits for the grace and its loads, as deletions do.
        RemoveDebris(_removals.Recovered(plan.DirectoriesToRemove,
            step => Catalog[step] is { Status: CheckpointStatus.Deleted } or { Status: CheckpointStatus.Committed, OnDisk: false, Tier: StorageTier.Object }));
        // The opening first: the planner has started once it is journaled too.
        var events = (opening is null ? [] : new ICatalogRecord[] { opening }).Concat(plan.Events).ToList();
        for (var i = 0; i < events.Count; i++) Record(events[i], i == events.Count - 1 ? _ => Settle() : null);
        if (events.Count == 0) Settle();
    }

    /// <summary>
    /// Opens a catalog kept outside the root (<see cref="SharedCatalogCheck"/>): from a copy of the root
    /// the planner stops before it settles or removes anything, refused for good (no later try changes
    /// a copy); otherwise the root is marked before each journal write from now on, and
    /// <paramref name="opening"/> is for the journal. A mark that cannot be read is a failed start like
    /// any other (tried again). False when it stopped.
    /// </summary>
    private bool Open(out CatalogOpened? opening)
    {
        opening = null;
        if (ActorCkptConfig.CatalogInRoot(Context.System.Settings.Config, _files.Root)) return true;
        string? problem;
        try
        {
            _marked = _files.Store.ReadMark();
            problem = SharedCatalogCheck.Problem(_files.Root, _marked, LastSequenceNr, Catalog.LastOpened, CatalogName,
                ActorCkptConfig.CatalogConfigFile(Context.System.Settings.Config));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ActorCkptException)
        {
            return Stop($"the root's {CheckpointLayout.MarkFile} could not be read: {e.Message}", final: false);
        }
        if (problem is not null) return Stop(problem, final: true);
        (_marksRoot, opening) = (true, new CatalogOpened(_files.Root, DateTimeOffset.UtcNow));
        return true;
    }

    /// <summary>
    /// A catalog kept outside the root: before a journal write this planner must still hold its claim on it
    /// (<see cref="CatalogClaim"/>), and the root's mark must allow for the write (<see cref="SharedCatalogCheck"/>).
    /// The mark never goes down, so a planner after another keeps what that one's late writes may add, and it is
    /// written only when it must grow. A claim lost, or a mark that cannot be written, stops the planner, the write
    /// not made (nor any after it): the journal must never go past the mark of the root it runs for.
    /// </summary>
    protected override bool BeforeRecord(long ahead)
    {
        if (_stopping) return false;
        try
        {
            _claim?.Ensure(ahead - 1);
        }
        catch (ActorCkptException e)
        {
            // The reason first: the message ends in a command to run as printed.
            return Stop($"nothing more is journaled: {e.Message}", final: false);
        }
        if (!_marksRoot || ahead <= _marked) return true;
        try
        {
            _files.Store.WriteMark(ahead);
            _marked = ahead;
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Stop($"the root's {CheckpointLayout.MarkFile} could not be written, so nothing more is journaled: {e.Message}", final: false);
        }
    }

    /// <summary>Stops the planner for <paramref name="why"/>, telling its supervisor (<paramref name="final"/>: no later try changes it); false.</summary>
    private bool Stop(string why, bool final)
    {
        _stopping = true;
        if (_supervised) Context.Parent.Tell(new PlannerStartFailed(why, final));
        else _log.Error(why);
        // Before, the ranks of the saves in flight heard only that the planner "was lost", not why.
        EndRoundsInFlight($"the planner stopped ({why})");
        Context.Stop(Self);
        return false;
    }

    private void Settle()
    {
        // Started once what recovery found is journaled: a journal that reads but cannot write fails the start.
        if (_supervised) Context.Parent.Tell(PlannerStarted.Instance);
        _settledAt = DateTimeOffset.UtcNow;
        if (_settings.MemoryTier.Enabled) Timers.StartSingleTimer(nameof(LostAfterPassed), new LostAfterPassed(), _settings.MemoryTier.LostAfter);
        if (PresentDiskSteps.LastOrDefault(-1) is var latest and >= 0) _files.MoveTracker(latest);
        // Memory metadata that no held memory step owns: a round that stopped before its commit was journaled.
        foreach (var dir in _files.Memory.ScanSteps(_ => false).Steps.Where(d => Catalog[d.Step] is not { InMemory: true }))
            _files.RemoveMemory(dir.Step);
        if (_uploader is not null)
        {
            // What the tier holds that this catalog lacks (the disk, and its catalog, were lost), and the newest upload a stop cut short.
            // Only a due step is ever sent, and of those on disk only the one resumed: what a cut-short copy of
            // any other left (one passed over, one not due under this configuration) is removed, not kept for good.
            var resume = Catalog.UploadToResume(_settings.ObjectTier.Due);
            _uploader.Tell(new FindUploads(Catalog.ObjectSteps.ToArray(), Catalog.Entries
                .Where(e => _settings.ObjectTier.Due(e.Step) && (e.Step == resume || e.InMemory || e.Status == CheckpointStatus.InFlight))
                .Select(e => e.Step).ToArray()));
            if (resume is { } step) UploadIfDue(step);
        }
        ApplyRetention();
        Remove(_removals.Unleased(_leases.IsHeld));
    }

    /// <summary>A persist ended (or one is asked after): those waiting for the uploads move on, and once none runs, those waiting for the persists hear it.</summary>
    private void PersistsEnded()
    {
        PassOnUploadWaiters();
        if (_persists.Count > 0) return;
        foreach (var waiting in _awaitingDisk) waiting.Tell(PersistsIdle.Instance);
        _awaitingDisk.Clear();
    }

    /// <summary>Once no step due for the object tier is being persisted, those waiting for the uploads wait on the uploader.</summary>
    private void PassOnUploadWaiters()
    {
        if (_uploader is null || _awaitingPersists.Count == 0 || _persists.Keys.Any(_settings.ObjectTier.Due)) return;
        foreach (var waiting in _awaitingPersists) _uploader.Tell(AwaitUploads.Instance, waiting);
        _awaitingPersists.Clear();
    }

    /// <summary>
    /// Has the object tier upload committed disk step <paramref name="step"/> when it is due; a lease
    /// keeps its files from retention until the upload is over.
    /// </summary>
    private void UploadIfDue(long step)
    {
        if (_uploader is null || !_settings.ObjectTier.Due(step) || Catalog[step] is not { OnDisk: true, OnObject: false, MetadataChecksum: { } checksum } entry) return;
        _leases.Acquire(step, _uploader);
        _uploader.Tell(new UploadStep(step, entry.SaveId, checksum));
    }

    /// <summary>A step's copy is committed in the object tier: journaled as on both, and its lease released.</summary>
    private void OnUploaded(UploadStepSuccess m)
    {
        var uploader = Sender;
        Record(new StepUploaded(m.Step, m.SaveId, m.Root, m.MetadataChecksum, m.Files, m.Bytes, DateTimeOffset.UtcNow), _ =>
        {
            Remove(_removals.Freed(_leases.Release(m.Step, uploader)));
            TrimObjectTier();
        });
    }

    /// <summary>
    /// The object tier's retention (<c>tiers.object.keep-last</c>, <c>keep-every</c>): uploaded steps older
    /// than its newest keep-last, and not multiples of keep-every, leave it, journaled first; one a load
    /// holds stays until a later upload trims again.
    /// </summary>
    private void TrimObjectTier()
    {
        var retention = _settings.ObjectTier.Retention;
        if (_uploader is null || retention.KeepLast == 0) return;
        foreach (var step in retention.StepsToDelete(Catalog.ObjectSteps).Where(s => !_leases.IsHeld(s)))
        {
            var uploader = _uploader;
            Record(new UploadDeleted(step, "the object tier's " + retention.Reason(step) + " (actorckpt.tiers.object)", DateTimeOffset.UtcNow),
                e => uploader.Tell(new DeleteUpload(e.Step)));
        }
    }

    /// <summary>Committed steps found in the object tier that the catalog did not record: journaled as committed there.</summary>
    private void OnUploadsFound(UploadsFound m)
    {
        _uploadsListed = true;
        if (m.Problem is not null) _log.Warning("Object tier: '{0}' could not be listed: {1}", m.Root, m.Problem);
        foreach (var found in m.Found.Where(f => Catalog[f.Step] is not { OnObject: true }))
        {
            // The tier holds this step number as another checkpoint (a rerun's): it is not this one's copy.
            if (Catalog[found.Step] is { Status: CheckpointStatus.Committed, MetadataChecksum: { } local } && local != found.MetadataChecksum)
            {
                _log.Warning("Object tier: step {0} in '{1}' is another checkpoint (metadata checksum {2}, the committed step's here is {3}); not recorded as its copy",
                    found.Step, m.Root, found.MetadataChecksum, local);
                continue;
            }
            _log.Info("Object tier: step {0} found committed in '{1}'; recorded in the catalog", found.Step, m.Root);
            Record(new StepUploaded(found.Step, Guid.Empty, m.Root, found.MetadataChecksum, found.Files, found.Bytes, DateTimeOffset.UtcNow));
        }
        DeferAsync(m, _ => TrimObjectTier());
    }

    private void Register(IReadOnlyList<IActorRef> writers, string? rootId)
    {
        if (writers.Count == 0) return;
        try
        {
            _rootId ??= _files.Store.RootId();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CheckpointFormatException or ObjectStoreException)
        {
            // The root's own id unreadable now: the writers are taken as before ids were compared, not lost.
            _log.Warning("Could not read the root's id to compare the writers' with: {0}", e.Message);
        }
        if (rootId is not null && _rootId is not null && rootId != _rootId)
        {
            // Their files would land in another root, and a commit would record files this root lacks.
            var node = writers[0].Path.Address;
            var why = $"the writers of {node} write to another checkpoint root (root id {rootId}) than the planner's '{_files.Root}' (root id {_rootId}): give every node the same root";
            if (_refusedWriterNodes.Add(node)) _log.Error("Refused writers: {0}", why);
            Sender.Tell(new WritersRefused(why));
            return;
        }
        var added = 0;
        foreach (var writer in writers.Where(w => !_writers.Contains(w)))
        {
            _writers.Add(writer);
            Context.Watch(writer);
            added++;
        }
        // Once all of them are in: a round waiting for writers is planned over every writer that came.
        if (added > 0) Carry(_rounds.WriterAdded());
    }

    /// <summary>
    /// A host's replica holder announced itself: recorded and watched, and what it holds is settled
    /// against the catalog: copies it lacks are lost, copies it kept are restored, anything else is dropped.
    /// </summary>
    private void OnRegisterHolder(RegisterHolder m)
    {
        try
        {
            if (_holders.Register(m.Host, m.Holder, m.BudgetBytes))
                _log.Info("Memory tier: host '{0}' is live ({1} holds {2} replica(s), budget {3} bytes)", m.Host, m.Holder.Path, m.Held.Length, m.BudgetBytes);
            Context.Watch(m.Holder);
            // Memory rounds that waited for a holder are planned now (with a writer to plan over).
            if (_writers.Count > 0) Carry(_rounds.WriterAdded());
        }
        catch (ArgumentException e)
        {
            _log.Warning("Memory tier: ignored the announcement of holder {0}: {1}", m.Holder.Path, e.Message);
            return;
        }
        var inventory = ReplicaInventory.Reconcile(Catalog, m.Host, m.Held.Select(h => new HeldCopy(h.Step, h.SaveId, h.DataFile)).ToArray(), DateTimeOffset.UtcNow);
        foreach (var lost in inventory.Lost) Record(lost, _ => ReReplicate());
        foreach (var restored in inventory.Restored) Record(restored);
        // A host come back or new may take the copies that had nowhere to go.
        ReReplicate();
        // Copies of a step a load still holds (deleted by retention meanwhile: they go when its files do) are not debris yet.
        foreach (var debris in inventory.Debris.Where(d => !_leases.IsHeld(d.Step) && !_copiesGoWithFiles.Contains(d.Step)).GroupBy(d => d.Step))
            m.Holder.Tell(new DropReplicas(debris.Key, debris.Select(d => d.File).ToArray(), "not a copy of a committed memory step"));
    }

    /// <summary>A lease request; <paramref name="again"/> when it is this planner's own copy of one it held back (<see cref="LeaseAskedAgain"/>).</summary>
    private void OnAcquireLoadLease(AcquireLoadLease msg, bool again = false)
    {
        // A renewal of a memory lease resolves its step from the tiers again; one of a disk lease, as before.
        if (_settings.MemoryTier.Enabled && (!msg.Renew || Catalog[msg.Step ?? -1] is { InMemory: true }) || msg.Only is StorageTier.Memory or StorageTier.Object
            || _uploader is not null && (!msg.Renew || Catalog[msg.Step ?? -1] is { OnDisk: false, OnObject: true }))
        {
            OnAcquireTieredLease(msg, again);
            return;
        }
        _leasesWaiting.Remove((Sender, msg.RequestId));
        var (lease, watch) = _leases.Request(Sender, msg.Step, msg.Renew, Catalog, _removals.CanRenew, _files.Root);
        if (watch) Context.Watch(Sender);
        Sender.Tell(lease.Refusal is null ? new LoadLeaseGranted(msg.RequestId, lease.Step, lease.MetadataChecksum) : new LoadLeaseRefused(msg.RequestId, lease.Refusal + LeftAlone(msg.Step)));
    }

    /// <summary>For a refused step asked for by number that the catalog does not know: why its directory on disk was left alone, or "".</summary>
    private string LeftAlone(long? step) =>
        step is { } s && Catalog[s] is null && _files.LeftAlone(s) is { } why ? $" (its directory is on disk, but left alone: its metadata cannot be read: {why})" : "";

    /// <summary>
    /// A load with the memory or object tier on: the newest loadable step from any tier (<see cref="LoadSources"/>),
    /// memory first, its copies' holders mapped to live nodes; the object tier when no local tier has it. A memory
    /// lease pins the step against eviction as a disk lease keeps a step from deletion. Disk choices are leased as
    /// before; an object one like a memory one (this planner deletes nothing in the object tier).
    /// </summary>
    private void OnAcquireTieredLease(AcquireLoadLease msg, bool again)
    {
        // Just started: hosts the catalog records as holders announce themselves first (a restarted
        // cluster loads from memory instead of racing to the disk); a load waits for them up to
        // lost-after, unless what it gets now is what they could give it at best.
        var waiting = (Sender, msg.RequestId);
        // The rank asks again every resend interval until answered: a copy of a request that waits here already is dropped, the one waiting answers.
        if (!again && _leasesWaiting.Contains(waiting)) return;
        if (WaitsForSilentHosts(msg.Step, msg.Only, msg.Host))
        {
            _leasesWaiting.Add(waiting);
            Context.System.Scheduler.ScheduleTellOnce(TimeSpan.FromMilliseconds(200), Self, new LeaseAskedAgain(msg), Sender);
            return;
        }
        // Likewise for the object tier's first listing: a planner whose disk (and catalog) was lost finds its steps there.
        if (DeferredUntilListed(new LeaseAskedAgain(msg)))
        {
            _leasesWaiting.Add(waiting);
            return;
        }
        _leasesWaiting.Remove(waiting);
        MarkSilentHostsLost();
        var (choice, refusal) = LoadSources.Choose(CommittedSteps(), msg.Step, msg.Only, _holders.IsLive, msg.Host);
        if (choice is null)
        {
            // A step asked for that was aborted, deleted or evicted: the catalog says why.
            var why = msg.Step is { } asked && Catalog[asked] is { Status: not CheckpointStatus.Committed } gone ? LoadLeases<IActorRef>.WhatBecameOf(gone) : "";
            Sender.Tell(new LoadLeaseRefused(msg.RequestId, $"{refusal} in '{_files.Root}'{why}{LeftAlone(msg.Step)}"));
            return;
        }
        if (choice.Tier == StorageTier.Disk)
        {
            var (lease, watchDisk) = _leases.Request(Sender, choice.Step, msg.Renew, Catalog, _removals.CanRenew, _files.Root);
            if (watchDisk) Context.Watch(Sender);
            Sender.Tell(lease.Refusal is null
                ? new LoadLeaseGranted(msg.RequestId, lease.Step, lease.MetadataChecksum, PassedOver: choice.PassedOver.Count > 0 ? choice.PassedOver.ToArray() : null)
                : new LoadLeaseRefused(msg.RequestId, lease.Refusal));
            return;
        }
        if (_leases.Acquire(choice.Step, Sender)) Context.Watch(Sender);
        if (choice.Tier == StorageTier.Object)
        {
            Sender.Tell(new LoadLeaseGranted(msg.RequestId, choice.Step, Catalog[choice.Step]!.UploadedChecksum ?? "", StorageTier.Object, null,
                choice.PassedOver.Count > 0 ? choice.PassedOver.ToArray() : null));
            return;
        }
        var holders = choice.Holders.Select(f => new FileHolders(f.Key,
            f.Value.Select(host => new HolderNode(host, Context.System.NodeOf(_holders.HoldersOn(host)[0]))).ToArray())).ToArray();
        Sender.Tell(new LoadLeaseGranted(msg.RequestId, choice.Step, Catalog[choice.Step]!.Memory!.MetadataChecksum, StorageTier.Memory, holders,
            choice.PassedOver.Count > 0 ? choice.PassedOver.ToArray() : null));
    }

    /// <summary>
    /// The step a load of the newest would read now, chosen as <see cref="OnAcquireLoadLease"/> chooses it
    /// and held back as long (holders that have not announced themselves, the object tier's first
    /// listing), but not leased.
    /// </summary>
    private void OnResolveLatestStep(ResolveLatestStep m)
    {
        // A planner whose disk (and catalog) was lost finds its steps in the object tier's first listing.
        if (DeferredUntilListed(m)) return;
        if (Catalog.Entries.Count == 0)
        {
            Sender.Tell(new LatestStepResolved(null, FromCatalog: false));
            return;
        }
        if (!_settings.MemoryTier.Enabled && _uploader is null)
        {
            var newest = Catalog.DiskSteps.LastOrDefault(-1);
            Sender.Tell(new LatestStepResolved(newest >= 0 ? newest : null, FromCatalog: true));
            return;
        }
        if (WaitsForSilentHosts(null, null, m.Host))
        {
            Context.System.Scheduler.ScheduleTellOnce(TimeSpan.FromMilliseconds(200), Self, m, Sender);
            return;
        }
        MarkSilentHostsLost();
        var steps = CommittedSteps();
        var (choice, _) = LoadSources.Choose(steps, null, null, _holders.IsLive, m.Host);
        Sender.Tell(new LatestStepResolved(choice?.Step ?? (steps.Length == 0 ? null : steps.Max(s => s.Step)), FromCatalog: true));
    }

    /// <summary>
    /// The committed steps as the load's choice of tier sees them. A step also in the object tier
    /// whose metadata the disk lost (recovery leaves it committed there, as for an unmounted root)
    /// loads from the tier; only such steps cost a look at the disk.
    /// </summary>
    private TieredStep[] CommittedSteps() => Catalog.Entries.Where(e => e.Status == CheckpointStatus.Committed)
        .Select(e =>
        {
            var onObject = e.OnObject && _uploader is not null;
            return new TieredStep(e.Step, e.OnDisk && (!onObject || _files.Store.IsCommitted(e.Step)), e.InMemory ? e.Memory : null, onObject);
        }).ToArray();

    /// <summary>
    /// Just after the start, a read of the catalog waits for the object tier's first listing, as a
    /// load does: a planner whose disk (and catalog) was lost finds its steps there, and a job asking
    /// for the newest step (<c>GetLatestStepAsync</c>) must see them.
    /// </summary>
    protected override void AnswerReadCatalog(ReadCatalog m)
    {
        if (!DeferredUntilListed(m)) base.AnswerReadCatalog(m);
    }

    /// <summary>
    /// Sends <paramref name="message"/> to this planner again in 200 ms, from its sender, while the
    /// object tier's first listing has not answered (for at most half the plan timeout after the
    /// start); true when it did so.
    /// </summary>
    private bool DeferredUntilListed(object message)
    {
        if (_uploader is null || _uploadsListed || DateTimeOffset.UtcNow - _madeAt >= _settings.PlanTimeout / 2) return false;
        Context.System.Scheduler.ScheduleTellOnce(TimeSpan.FromMilliseconds(200), Self, message, Sender);
        return true;
    }

    /// <summary>
    /// True when the load would get now, from the hosts that announced themselves, the step it asked
    /// for (or the newest committed), from memory or held in no memory: a silent host could give it
    /// nothing better, so it need not wait for them (a node that left, or one that never comes back).
    /// </summary>
    private bool SilentHostsCannotBetter(long? step, StorageTier? only, string? host)
    {
        var steps = CommittedSteps();
        if (steps.Length == 0) return false;
        var (choice, _) = LoadSources.Choose(steps, step, only, _holders.IsLive, host);
        return choice is not null && choice.Step == (step ?? steps.Max(s => s.Step))
            && (choice.Tier == StorageTier.Memory || Catalog[choice.Step] is not { InMemory: true });
    }

    /// <summary>
    /// Whether a load waits for recorded hosts that have not announced themselves: until lost-after has passed
    /// since the planner settled, and while one of them is scanning its store for longer, but never past half
    /// a plan timeout after the planner was made (the ranks' lease deadline), unless they could give it
    /// nothing better than what it gets now: <paramref name="step"/> (null: the newest), limited to
    /// <paramref name="only"/>, for a rank on <paramref name="host"/>.
    /// </summary>
    private bool WaitsForSilentHosts(long? step, StorageTier? only, string? host)
    {
        var silent = Unannounced();
        if (silent.Count == 0) return false;
        var now = DateTimeOffset.UtcNow;
        if (now - _madeAt >= _settings.PlanTimeout / 2) return false;
        if (now - _settledAt >= _settings.MemoryTier.LostAfter && !silent.Any(_holders.IsScanning)) return false;
        return !SilentHostsCannotBetter(step, only, host);
    }

    /// <summary>
    /// Hosts recorded as holders of memory steps still held that have not announced themselves to this
    /// planner. Copies marked lost count too: a process restarted on its host brings them back (a stopping
    /// planner marks its own host's lost). A host that announced and then went is not silent: a crash was
    /// journaled lost when it was seen, and a node that left on purpose keeps its copies.
    /// </summary>
    private IReadOnlyList<string> Unannounced() => Catalog.Entries.Where(e => e.InMemory)
        .SelectMany(e => e.Memory!.Hosts).Distinct(StringComparer.Ordinal).Where(h => !_holders.HasAnnounced(h)).ToArray();

    /// <summary>A rank refused a memory copy (its checksum failed, or it was gone): the copy is journaled lost and its host drops what is left of it.</summary>
    private void OnReplicaRefused(ReplicaRefused m)
    {
        _log.Warning("Memory tier: step {0}: the copy of '{1}' on host '{2}' was refused by a load: {3}", m.Step, m.File, m.Host, m.Cause);
        if (Catalog[m.Step] is not { InMemory: true } entry || entry.Memory!.IndexOf(m.Host) is var h && h < 0
            || entry.Memory.Shards.Any(s => s.File == m.File && s.Lost.Contains(h))) return;
        Record(new ReplicasLost(m.Step, m.Host, [m.File], "refused by a load: " + m.Cause, DateTimeOffset.UtcNow), _ =>
        {
            foreach (var holder in _holders.HoldersOn(m.Host)) holder.Tell(new DropReplicas(m.Step, [m.File], "a load refused it"));
            ReReplicate();
        });
    }

    /// <summary>The committed disk steps, oldest first, but those recovery found missing.</summary>
    private IReadOnlyList<long> PresentDiskSteps => Catalog.DiskSteps.Where(s => !_missing.Contains(s)).ToArray();

    /// <summary>Journals the deletion of every committed step retention no longer keeps; their files go once no load holds them.</summary>
    private void ApplyRetention(long? spare = null, int? keepLast = null)
    {
        foreach (var (step, reason) in _removals.Retain(PresentDiskSteps, spare, keepLast))
        {
            _log.Info("Deleting step {0}: {1}", step, reason);
            // A deletion takes every tier: a persisted step's copies go with its files, once no load holds it.
            if (Catalog[step] is { InMemory: true }) _copiesGoWithFiles.Add(step);
            Record(new CheckpointDeleted(step, reason, DateTimeOffset.UtcNow), _ => Remove(_removals.Deleted(step, _leases.IsHeld)));
        }
    }

    /// <summary>An explicit collection does not wait out the grace; it is answered once the files of the steps it deleted are gone.</summary>
    private void OnCollectGarbage(IActorRef asker, int? keepLast)
    {
        Remove(_removals.EndGrace(_leases.IsHeld));
        // A directory without metadata is debris unless the catalog says a committed step is there (its metadata lost).
        RemoveDebris(_removals.Debris(_files.Scan(_ => false).Where(d => d.Commit is null && Catalog[d.Step] is not { OnDisk: true }).Select(d => d.Step),
            step => _rounds.IsInFlight(step) || _persists.ContainsKey(step)));
        ApplyRetention(keepLast: keepLast);
        DeferAsync(asker, a => Answer(a, _removals.Collect(a)));
    }

    private void RemoveDebris(IEnumerable<long> steps)
    {
        foreach (var step in _files.RemoveDebris(steps)) _removals.Removed(step, asDebris: true);
    }

    private void Remove(IEnumerable<long> steps)
    {
        foreach (var step in steps)
        {
            if (_copiesGoWithFiles.Remove(step)) DropEverywhere(step, null, "the step was deleted");
            _files.RemoveInBackground(step).PipeTo(Self);
        }
    }

    /// <summary>Answers a collection with its report, if it is complete (null: its deleted steps' files are still going).</summary>
    private static void Answer(IActorRef asker, CollectionReport? report)
    {
        if (report is not null) asker.Tell(new GarbageCollected(report.DebrisRemoved, report.Deleted, report.Failures));
    }

    /// <inheritdoc />
    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        // A record that cannot be decoded is as unreadable at every try: the start fails at once, naming the repair.
        var undecodable = Chain(reason).Any(e => e is System.Text.Json.JsonException or System.Runtime.Serialization.SerializationException);
        if (_supervised)
            Context.Parent.Tell(new PlannerStartFailed($"its catalog {CatalogName} could not be recovered: " + ErrorText.Of(reason) + (undecodable
                ? $"; a record in it cannot be read: make a new catalog from the checkpoints on disk with {ActorCkptConfig.RebuildCommand(Context.System.Settings.Config, _files.Root)}"
                : ""), Final: undecodable));
        base.OnRecoveryFailure(reason, message);

        static IEnumerable<Exception> Chain(Exception? e)
        {
            for (; e is not null; e = e.InnerException) yield return e;
        }
    }

    /// <inheritdoc />
    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        base.OnPersistRejected(cause, @event, sequenceNr);
        if (@event is CheckpointDeleted deleted)
        {
            // Not deleted: the step keeps its files and copies, and a collection says so.
            _copiesGoWithFiles.Remove(deleted.Step);
            _removals.Refused(deleted.Step, cause.Message);
        }
        if (@event is ICatalogEvent e) Carry(_rounds.JournalRejected(e, JournalError(cause)));
    }

    /// <inheritdoc />
    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        // The actor stops after this; its supervisor starts it again and recovery settles the catalog.
        // Told to the supervisor, whose retries would otherwise end in "it stopped while starting" (a full disk, say).
        if (_supervised) Context.Parent.Tell(new PlannerStartFailed($"its catalog {CatalogName} could not be written ({@event.GetType().Name}): {ErrorText.Of(cause.GetBaseException())}"));
        Carry(_rounds.JournalFailed(@event, JournalError(cause)));
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    /// <summary>A journal's error as a save or deletion reports it: the cause, and which catalog (a full disk, say, is the catalog's disk).</summary>
    private string JournalError(Exception cause) => $"{cause.Message} (catalog {CatalogName})";

    /// <summary>A lease request this planner held back, sent to itself again.</summary>
    private sealed record LeaseAskedAgain(AcquireLoadLease Request);
}

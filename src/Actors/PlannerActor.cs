using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Akka.Pattern;
using Akka.Persistence;

namespace ActorCkpt;

/// <summary>
/// Coordinates saves and keeps the catalog of checkpoints. Gathers every rank's local plan (with a
/// deadline), builds the global plan (dedup, assignment to registered writers and files), journals
/// that the save started, prepares the step directory, sends each rank its writes, and once every
/// rank has reported, commits: metadata written under a temporary name, fsynced, renamed (the
/// commit point), the commit journaled, tracker moved, and the deletions retention then decides
/// journaled; only then does every rank hear <see cref="CheckpointCommitted"/>. On any failure:
/// <see cref="CheckpointAborted"/>, no metadata, the abort journaled, the attempt's files removed.
/// <para>
/// The catalog is an Akka.Persistence journal (SQLite or PostgreSQL through Akka.Persistence.Sql).
/// On start the planner takes the root's catalog lock (one planner per root), recovers the catalog,
/// reconciles it with the disk (<see cref="CatalogReconciler"/>): saves that were in flight are
/// recorded as aborted, or as committed when their metadata made it; debris of uncommitted saves is
/// removed; committed checkpoints are never touched unless the journal says they were deleted.
/// Retention deletes old checkpoints (journaled first, files removed in the background), never one
/// a rank holds a load lease on. Any error while handling a save aborts that save only.
/// </para>
/// </summary>
internal sealed class PlannerActor : ReceivePersistentActor, IWithTimers
{
    private const int AbortedStepsRemembered = 64;
    private readonly CheckpointStore _store;
    private readonly ActorCkptSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<IActorRef> _writers = new();
    private readonly Dictionary<long, PlannerSave> _saves = new();

    // Steps of one job usually have the same structure: their global plan is served from here.
    private readonly SavePlanCache _planCache = new();
    // Aborted steps and the ranks whose plans had not arrived: a late plan from one of those
    // belongs to the dead attempt and is refused; a plan from any other rank starts a new attempt.
    private readonly Dictionary<long, (string Reason, HashSet<int> Late)> _aborted = new();
    private readonly Queue<long> _abortedOrder = new();
    private readonly string _writerPoolName;
    private readonly LoadLeases _leases = new();
    private readonly QueueAgreement _agreement = new();
    // Deleted steps whose files are still there: removed once no lease holds them.
    private readonly SortedSet<long> _awaitingRemoval = new();
    private readonly HashSet<long> _removing = new();
    // What recovery and retention removed since the last CollectGarbage answer, which reports it.
    private readonly SortedSet<long> _debrisRemoved = new();
    private readonly SortedSet<long> _deletedSinceReport = new();
    // Answers to CollectGarbage, sent once the files of the steps it deleted are gone.
    private readonly List<(IActorRef ReplyTo, GarbageCollected Reply, HashSet<long> Pending, List<string> Failures)> _collections = new();
    private CheckpointCatalog _catalog = new();
    private IDisposable? _catalogLock;
    private int _eventsSinceSnapshot;
    // True during the grace after start: files of deleted steps stay until loads renewed their leases.
    private bool _holdRemovals;

    /// <summary>Creates the planner; use <see cref="Props"/>.</summary>
    public PlannerActor(CheckpointStore store, ActorCkptSettings settings, string persistenceId, string writerPoolName)
    {
        _store = store;
        _settings = settings;
        PersistenceId = persistenceId;
        _writerPoolName = writerPoolName;
        JournalPluginId = ActorCkptConfig.JournalPluginId;
        SnapshotPluginId = ActorCkptConfig.SnapshotPluginId;

        Recover<SnapshotOffer>(o => _catalog = new CheckpointCatalog((CatalogSnapshot)o.Snapshot));
        Recover<ICatalogEvent>(e => _catalog.Apply(e));
        Recover<RecoveryCompleted>(_ => Reconcile());

        Command<RegisterWriter>(m => Register(m.Writer));
        Command<WritersListed>(m =>
        {
            foreach (var w in m.Writers) Register(w);
        });
        Command<Terminated>(t =>
        {
            _writers.Remove(t.ActorRef);
            ReleaseLeases(_leases.ReleaseAll(t.ActorRef));
        });
        Command<ClusterEvent.MemberUp>(m =>
        {
            // Writers are discovered from membership, so a planner that just took over the
            // singleton finds every pool that is already up.
            if (m.Member.HasRole(ClusterRoles.Writer))
                Context.ActorSelection(new RootActorPath(m.Member.Address) / "user" / _writerPoolName).Tell(new ListWriters());
        });
        Command<ClusterEvent.MemberRemoved>(m => _writers.RemoveAll(w => w.Path.Address.Equals(m.Member.Address)));
        Command<ReassignWrite>(OnReassignWrite);
        Command<ListWriters>(_ => Sender.Tell(new WritersListed(_writers.ToArray())));
        Command<SubmitLocalPlan>(OnSubmitLocalPlan);
        Command<ReportWrites>(OnReportWrites);
        Command<AbortSave>(OnAbortSave);
        Command<PlanDeadlinePassed>(OnPlanDeadline);
        Command<WriteDeadlinePassed>(OnWriteDeadline);
        Command<AcquireLoadLease>(OnAcquireLoadLease);
        Command<ReleaseLoadLease>(m => ReleaseLeases(_leases.Release(m.Step, Sender)));
        Command<CollectGarbage>(_ => OnCollectGarbage());
        Command<ReadCatalog>(_ => Sender.Tell(new CatalogRead(_catalog.Entries.ToArray())));
        Command<DeletionFinished>(OnDeletionFinished);
        Command<RemovalGraceEnded>(_ => EndRemovalGrace());
        Command<AgreeQueueEmpty>(m =>
        {
            foreach (var (replyTo, answer) in _agreement.Vote(m, Sender)) replyTo.Tell(answer);
        });
        Command<SaveSnapshotSuccess>(m => DeleteSnapshots(new SnapshotSelectionCriteria(m.Metadata.SequenceNr - 1)));
        Command<SaveSnapshotFailure>(m => _log.Warning("Snapshot of the catalog failed (the journal still has every event): {0}", m.Cause.Message));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(m => _log.Warning("Old catalog snapshots could not be deleted: {0}", m.Cause.Message));
    }

    /// <inheritdoc />
    public override string PersistenceId { get; }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>
    /// Props of the planner over <paramref name="store"/>, journaling its catalog as
    /// <paramref name="persistenceId"/>; it asks the pools named <paramref name="writerPoolName"/>
    /// for their writers. Unsupervised: hosts use <see cref="SupervisedProps"/>.
    /// </summary>
    public static Props Props(CheckpointStore store, ActorCkptSettings settings, string persistenceId = "actorckpt-catalog", string writerPoolName = "actorckpt-writers") =>
        Akka.Actor.Props.Create(() => new PlannerActor(store, settings, persistenceId, writerPoolName)).WithDispatcher(settings.PlannerDispatcher);

    /// <summary>
    /// The planner under a backoff supervisor: when it stops (its journal failed, or another planner
    /// held the catalog lock) it starts again after a backoff and recovers its catalog.
    /// </summary>
    public static Props SupervisedProps(CheckpointStore store, ActorCkptSettings settings, string persistenceId, string writerPoolName) =>
        BackoffSupervisor.Props(Backoff.OnStop(Props(store, settings, persistenceId, writerPoolName), "planner",
            TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(5), 0.2, maxNrOfRetries: -1)
            .WithSupervisorStrategy(new PlannerRestartStrategy()));

    /// <inheritdoc />
    protected override void PreStart()
    {
        // One planner per root: a second one (another job, or `actorckpt gc`) would journal over
        // this one's catalog and remove its saves in flight as debris.
        _catalogLock = CatalogLock.Take(_store.Blobs);
        if (_settings.RemovalGrace > TimeSpan.Zero)
        {
            _holdRemovals = true;
            Timers.StartSingleTimer(nameof(RemovalGraceEnded), new RemovalGraceEnded(), _settings.RemovalGrace);
        }
        if (Context.System.IsClustered())
            Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
                typeof(ClusterEvent.MemberUp), typeof(ClusterEvent.MemberRemoved));
        else
            Context.ActorSelection("/user/" + _writerPoolName).Tell(new ListWriters());
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        if (Context.System.IsClustered())
            Cluster.Get(Context.System).Unsubscribe(Self);
        foreach (var save in _saves.Values) save.Deadline?.Cancel();
        _catalogLock?.Dispose();
        base.PostStop();
    }

    /// <summary>Journals <paramref name="e"/>, applies it, snapshots when due, then runs <paramref name="then"/>.</summary>
    private void Record<TEvent>(TEvent e, Action<TEvent>? then = null) where TEvent : ICatalogEvent =>
        Persist(e, persisted =>
        {
            _catalog.Apply(persisted);
            if (++_eventsSinceSnapshot >= _settings.CatalogSnapshotEvery)
            {
                _eventsSinceSnapshot = 0;
                SaveSnapshot(_catalog.ToSnapshot());
            }
            then?.Invoke(persisted);
        });

    /// <summary>
    /// Settles the recovered catalog against the disk before any command is handled: debris goes,
    /// the outcome of every save that was in flight is journaled, then the tracker is moved to the
    /// newest committed step and retention catches up. Commands wait meanwhile (they are stashed
    /// while events are persisted, and the last step runs in the last event's handler).
    /// </summary>
    private void Reconcile()
    {
        var disk = Scan(step => _catalog[step]?.Status != CheckpointStatus.Committed);
        var plan = CatalogReconciler.Reconcile(_catalog, disk, DateTimeOffset.UtcNow);
        if (plan.Missing.Count > 0)
            _log.Warning("Catalog recovery: committed steps {0} have no metadata under '{1}'; left as they are (is the right root mounted?)",
                string.Join(", ", plan.Missing), _store.Blobs.Root);
        foreach (var step in plan.DirectoriesToRemove)
        {
            // A deleted step's files may still be read by a load that began under the previous
            // planner: they go like any other deletion, after the grace and once no lease holds them.
            if (_catalog[step]?.Status == CheckpointStatus.Deleted) _awaitingRemoval.Add(step);
            else if (RemoveNow(step, "left by a save that never committed")) _debrisRemoved.Add(step);
        }
        for (var i = 0; i < plan.Events.Count; i++)
        {
            var e = plan.Events[i];
            _log.Info("Catalog recovery: step {0}: {1}", e.Step, e switch
            {
                SaveCommitted c => "committed (" + c.Note + ")",
                SaveAborted a => "aborted (" + a.Reason + ")",
                CheckpointDeleted d => "deleted (" + d.Reason + ")",
                _ => e.GetType().Name,
            });
            Record(e, i == plan.Events.Count - 1 ? _ => Settle() : null);
        }
        if (plan.Events.Count == 0) Settle();
    }

    private void Settle()
    {
        if (_catalog.CommittedSteps.LastOrDefault(-1) is var latest and >= 0) MoveTracker(latest);
        ApplyRetention();
        RemoveUnleased();
    }

    /// <summary>Starts removing the files of every deleted step no lease holds, unless removals are held.</summary>
    private void RemoveUnleased()
    {
        if (_holdRemovals) return;
        foreach (var step in _awaitingRemoval.Where(s => !_leases.IsHeld(s)).ToList()) RemoveInBackground(step);
    }

    private void EndRemovalGrace()
    {
        _holdRemovals = false;
        RemoveUnleased();
    }

    private void Register(IActorRef writer)
    {
        if (_writers.Contains(writer)) return;
        _writers.Add(writer);
        Context.Watch(writer);
        foreach (var save in _saves.Values.Where(s => !s.Writing && !s.Starting && s.AbortReason is null && !s.MissingPlans.Any()).ToList())
            StartWrites(save);
    }

    private void OnSubmitLocalPlan(SubmitLocalPlan msg)
    {
        var rank = msg.Plan.Rank;
        if (_aborted.TryGetValue(msg.Step, out var tombstone))
        {
            if (tombstone.Late.Remove(rank))
            {
                Sender.Tell(new CheckpointAborted(msg.Step, tombstone.Reason));
                return;
            }
            _aborted.Remove(msg.Step);
        }
        if (!_saves.TryGetValue(msg.Step, out var save))
        {
            save = new PlannerSave(msg.Step, msg.Plan.WorldSize);
            _saves[msg.Step] = save;
            save.Deadline = Context.System.Scheduler.ScheduleTellOnceCancelable(_settings.PlanTimeout, Self, new PlanDeadlinePassed(msg.Step), Self);
        }
        if (save.AbortReason is not null)
        {
            // A rank of the aborted attempt saving again: a new attempt, which must not start
            // while the old one's writers may still be busy in the step directory.
            if (!save.NextAttempt.Any(n => n.Plan.Plan.Rank == rank)) save.NextAttempt.Add((msg, Sender));
            return;
        }
        if (save.Plans.ContainsKey(rank))
        {
            // The shard re-sends its plan until acknowledged: answer again, keep the first.
            Sender.Tell(new LocalPlanAccepted(msg.Step));
            return;
        }
        if (save.Writing || save.Starting)
        {
            Sender.Tell(new CheckpointAborted(msg.Step, $"rank {rank} sent its plan for step {msg.Step} after writing began"));
            return;
        }
        save.Plans[rank] = msg.Plan;
        save.Fingerprints[rank] = msg.Fingerprint;
        save.Shards[rank] = Sender;
        Sender.Tell(new LocalPlanAccepted(msg.Step));
        var problem = msg.Plan.WorldSize != save.WorldSize ? $"rank {rank} says the world size is {msg.Plan.WorldSize}, earlier ranks said {save.WorldSize}"
            : rank < 0 || rank >= save.WorldSize ? $"rank {rank} is outside world size {save.WorldSize}"
            : msg.Step < 0 ? $"step {msg.Step} is negative"
            : null;
        if (problem is not null)
        {
            Abort(save, problem);
            return;
        }
        if (!save.MissingPlans.Any() && _writers.Count > 0) StartWrites(save);
    }

    private void StartWrites(PlannerSave save)
    {
        save.Deadline?.Cancel();
        GlobalSavePlan plan;
        try
        {
            if (_store.IsCommitted(save.Step)) throw new StepAlreadyCommittedException(save.Step, _store.Blobs.Root);
            if (_removing.Contains(save.Step) || _awaitingRemoval.Contains(save.Step))
                throw new ActorCkptException($"step {save.Step} is being deleted; save it again once its files are gone");
            plan = _planCache.GetOrCreate(save.Plans.Values.ToList(), save.Fingerprints.Values.ToList(), _writers.Select(NodeOf).ToArray(),
                save.Shards.ToDictionary(s => s.Key, s => NodeOf(s.Value)), _settings.Planning, save.FileTag);
        }
        catch (Exception e)
        {
            Abort(save, Describe(e));
            return;
        }
        // The start is journaled before the directory exists, so a crash from here on leaves a
        // catalog entry that recovery resolves (and whose debris it removes). Commands wait while
        // an event is being persisted; Starting keeps the rest of this one (several writers
        // registering at once) from starting the save twice.
        var writers = _writers.ToList();
        save.Starting = true;
        Record(new SaveStarted(save.Step, save.SaveId, save.WorldSize, CheckpointLayout.StepDirectory(save.Step), DateTimeOffset.UtcNow), _ =>
        {
            save.Starting = false;
            try
            {
                _store.PrepareStep(save.Step);
            }
            catch (Exception e)
            {
                Abort(save, Describe(e));
                return;
            }
            save.Plan = plan;
            save.Writers.AddRange(writers);
            _settings.KillAt.Reached("planned", save.Step);
            foreach (var (rank, shard) in save.Shards)
            {
                var files = plan.ForRank(rank).Select(f => new WriteAssignment(f, save.Writers[f.WriterIndex])).ToArray();
                shard.Tell(new AssignWrites(save.Step, save.SaveId, files));
            }
            _log.Debug("Step {0}: {1} files over {2} writers", save.Step, plan.Files.Count, writers.Count);
            save.Deadline = Context.System.Scheduler.ScheduleTellOnceCancelable(_settings.WriteTimeout, Self, new WriteDeadlinePassed(save.Step), Self);
        });
    }

    private void OnReportWrites(ReportWrites msg)
    {
        if (!_saves.TryGetValue(msg.Step, out var save) || !save.Writing || msg.SaveId != save.SaveId) return;
        save.Reports[msg.Rank] = msg;
        if (save.AbortReason is null && msg.Failures.Count > 0)
            Abort(save, $"rank {msg.Rank} could not write " + string.Join("; ", msg.Failures));
        else if (save.AbortReason is null && save.AllReported)
            Commit(save);
        else if (save.AbortReason is not null && save.AllReported)
            Forget(save, removeDebris: true);
    }

    private void OnReassignWrite(ReassignWrite msg)
    {
        if (!_saves.TryGetValue(msg.Step, out var save) || save.SaveId != msg.SaveId || save.Plan is null || save.AbortReason is not null) return;
        // A writer is lost with its node: none of that node's writers is a candidate any more.
        _writers.RemoveAll(w => w.Equals(msg.LostWriter) || (w.Path.Address.HasGlobalScope && w.Path.Address.Equals(msg.LostWriter.Path.Address)));
        var index = save.Plan.Files.ToList().FindIndex(f => f.FileName == msg.File);
        if (index < 0) return;
        var file = save.Plan.Files[index];
        if (save.Reports.ContainsKey(file.Rank)) return;
        var rankNode = save.Shards.TryGetValue(file.Rank, out var shard) ? NodeOf(shard) : null;
        var candidates = _settings.Planning.Placement == Placement.Local && _writers.Any(w => NodeOf(w) == rankNode)
            ? _writers.Where(w => NodeOf(w) == rankNode).ToList()
            : _writers.ToList();
        if (candidates.Count == 0)
        {
            Abort(save, $"no writer left to write '{msg.File}' after {msg.LostWriter.Path} was lost");
            return;
        }
        // The least loaded survivor, by bytes it already has in this save.
        var load = save.Plan.Files.GroupBy(f => save.Writers[f.WriterIndex]).ToDictionary(g => g.Key, g => g.Sum(f => f.DataBytes));
        var writer = candidates.MinBy(w => load.GetValueOrDefault(w))!;
        if (!save.Writers.Contains(writer)) save.Writers.Add(writer);
        var moved = file with { WriterIndex = save.Writers.IndexOf(writer), WriterNode = NodeOf(writer) };
        save.Plan = save.Plan with { Files = save.Plan.Files.Select((f, i) => i == index ? moved : f).ToArray() };
        _log.Warning("Step {0}: '{1}' moves from lost writer {2} to {3}", save.Step, msg.File, msg.LostWriter.Path, writer.Path);
        Sender.Tell(new WriteReassigned(save.Step, save.SaveId, new WriteAssignment(moved, writer)));
    }

    /// <summary>
    /// A rank's caller cancelled: the save is aborted unless its commit has begun. Before any plan
    /// of the step arrived, the other ranks' plans of this attempt are refused as they come.
    /// </summary>
    private void OnAbortSave(AbortSave msg)
    {
        var reason = msg.Reason;
        if (_saves.TryGetValue(msg.Step, out var save))
        {
            if (save.AbortReason is null) Abort(save, reason);
            return;
        }
        // Too late: the save committed (the commit stashed this request until it was journaled), or it is over.
        if (_aborted.ContainsKey(msg.Step) || _catalog[msg.Step] is { Status: CheckpointStatus.Committed or CheckpointStatus.Deleted }) return;
        _aborted[msg.Step] = (reason, Enumerable.Range(0, msg.WorldSize).Where(r => r != msg.Rank).ToHashSet());
        _abortedOrder.Enqueue(msg.Step);
        while (_abortedOrder.Count > AbortedStepsRemembered) _aborted.Remove(_abortedOrder.Dequeue());
        _log.Warning("Aborted step {0} before it began: {1}", msg.Step, reason);
    }

    private void Commit(PlannerSave save)
    {
        save.Deadline?.Cancel();
        _settings.KillAt.Reached("all-written", save.Step);
        CheckpointMetadata metadata;
        string checksum;
        try
        {
            metadata = MetadataBuilder.Build(save.Step, save.Plan!, save.Reports.Values.SelectMany(r => r.Results), DateTimeOffset.UtcNow);
            checksum = _store.StageMetadata(metadata);
            _settings.KillAt.Reached("metadata-written", save.Step);
            _store.PublishMetadata(save.Step);
        }
        catch (Exception e)
        {
            Abort(save, "commit failed: " + e.Message);
            return;
        }
        _settings.KillAt.Reached("renamed", save.Step);
        // The rename committed the step; it is acknowledged only once the journal has it too. A crash
        // in between is resolved on recovery from the metadata on disk.
        var summary = new SaveSummary(save.Step, metadata.Files.Count, metadata.TotalFileBytes);
        Record(new SaveCommitted(save.Step, save.SaveId, checksum, summary.Files, summary.Bytes, DateTimeOffset.UtcNow), _ =>
        {
            _settings.KillAt.Reached("journaled", save.Step);
            MoveTracker(save.Step);
            _settings.KillAt.Reached("tracker-moved", save.Step);
            _saves.Remove(save.Step);
            _log.Info("Committed step {0}: {1} files, {2} bytes", save.Step, summary.Files, summary.Bytes);
            ApplyRetention();
            // Heard after retention's deletions are journaled, so a host that stops as soon as its
            // save is committed does not leave a step retention had already given up.
            DeferAsync(summary, s => { foreach (var shard in save.Shards.Values) shard.Tell(new CheckpointCommitted(save.Step, s)); });
        });
    }

    private void MoveTracker(long step)
    {
        try
        {
            _store.MoveTracker(step);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.Warning("Step {0} is committed but the '{1}' tracker could not move: {2}", step, CheckpointLayout.LatestFile, e.Message);
        }
    }

    /// <summary>The node an actor lives on: its address, this system's own for a local reference.</summary>
    private string NodeOf(IActorRef actor) =>
        (actor.Path.Address.HasGlobalScope ? actor.Path.Address : ((ExtendedActorSystem)Context.System).Provider.DefaultAddress).ToString();

    private void OnPlanDeadline(PlanDeadlinePassed msg)
    {
        if (_saves.TryGetValue(msg.Step, out var save) && !save.Writing && save.AbortReason is null)
        {
            var why = save.MissingPlans.Any()
                ? $"ranks {string.Join(", ", save.MissingPlans)} did not send their plan within {_settings.PlanTimeout}"
                : $"no writer registered within {_settings.PlanTimeout}";
            Abort(save, why);
        }
    }

    private void OnWriteDeadline(WriteDeadlinePassed msg)
    {
        if (_saves.TryGetValue(msg.Step, out var save) && save.Writing && !save.AllReported)
        {
            if (save.AbortReason is null)
                Abort(save, $"ranks {string.Join(", ", save.MissingReports)} did not finish writing within {_settings.WriteTimeout}");
            // Writers may still be busy: their files carry this attempt's tag, so leaving them is safe.
            Forget(save, removeDebris: false);
        }
    }

    private void Abort(PlannerSave save, string reason)
    {
        save.Deadline?.Cancel();
        save.AbortReason = reason;
        _log.Warning("Aborted step {0}: {1}", save.Step, reason);
        foreach (var shard in save.Shards.Values) shard.Tell(new CheckpointAborted(save.Step, reason));
        Record(new SaveAborted(save.Step, save.SaveId, reason, DateTimeOffset.UtcNow));
        if (!save.Writing || save.AllReported) Forget(save, removeDebris: save.Writing);
        else save.Deadline = Context.System.Scheduler.ScheduleTellOnceCancelable(_settings.WriteTimeout, Self, new WriteDeadlinePassed(save.Step), Self);
    }

    /// <summary>Drops an aborted save; its uncommitted files are removed once no writer can still touch them.</summary>
    private void Forget(PlannerSave save, bool removeDebris)
    {
        save.Deadline?.Cancel();
        _saves.Remove(save.Step);
        _aborted[save.Step] = (save.AbortReason!, save.MissingPlans.ToHashSet());
        _abortedOrder.Enqueue(save.Step);
        while (_abortedOrder.Count > AbortedStepsRemembered) _aborted.Remove(_abortedOrder.Dequeue());
        if (removeDebris)
        {
            try
            {
                _store.DeleteUncommitted(save.Step);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _log.Warning("Could not remove the files of aborted step {0}: {1}", save.Step, e.Message);
            }
        }
        foreach (var (plan, shard) in save.NextAttempt) Self.Tell(plan, shard);
    }

    private void OnAcquireLoadLease(AcquireLoadLease msg)
    {
        var step = msg.Step ?? _catalog.CommittedSteps.LastOrDefault(-1);
        var entry = step >= 0 ? _catalog[step] : null;
        var renewable = msg.Renew && entry?.Status == CheckpointStatus.Deleted && _awaitingRemoval.Contains(step) && !_removing.Contains(step);
        if (entry?.Status != CheckpointStatus.Committed && !renewable)
        {
            Sender.Tell(new LoadLeaseRefused(msg.RequestId, msg.Step is null
                ? $"no committed checkpoint in '{_store.Blobs.Root}'"
                : $"step {step} is not a committed checkpoint in '{_store.Blobs.Root}'" +
                  (entry is null ? "" : $" (it is {entry.Status.ToString().ToLowerInvariant()}{(entry.Reason is null ? "" : ": " + entry.Reason)})")));
            return;
        }
        // A renewal may be sent more than once until answered: it holds one lease, not several.
        if (!(msg.Renew && _leases.Holds(step, Sender)) && _leases.Acquire(step, Sender)) Context.Watch(Sender);
        Sender.Tell(new LoadLeaseGranted(msg.RequestId, step, entry!.MetadataChecksum ?? ""));
    }

    private void ReleaseLeases(IEnumerable<long> freed)
    {
        if (_holdRemovals) return;
        foreach (var step in freed.Where(_awaitingRemoval.Contains).ToList()) RemoveInBackground(step);
    }

    /// <summary>Journals the deletion of every committed step retention no longer keeps; their files go once no load holds them.</summary>
    private void ApplyRetention()
    {
        var doomed = _settings.Retention.StepsToDelete(_catalog.CommittedSteps);
        foreach (var step in doomed)
        {
            _log.Info("Deleting step {0}: {1}", step, _settings.Retention.Reason(step));
            Record(new CheckpointDeleted(step, _settings.Retention.Reason(step), DateTimeOffset.UtcNow), _ =>
            {
                _awaitingRemoval.Add(step);
                if (!_leases.IsHeld(step) && !_holdRemovals) RemoveInBackground(step);
            });
        }
        _deletedSinceReport.UnionWith(doomed);
    }

    private void OnCollectGarbage()
    {
        var replyTo = Sender;
        // An explicit collection does not wait out the grace: files no lease holds go now.
        EndRemovalGrace();
        RemoveDebris();
        ApplyRetention();
        // Answered after the handlers of the deletions just journaled, once their files are gone.
        DeferAsync(0, _ => AnswerCollection(replyTo));
    }

    private void AnswerCollection(IActorRef replyTo)
    {
        var pending = _awaitingRemoval.ToHashSet();
        var reply = new GarbageCollected(_debrisRemoved.ToArray(), _deletedSinceReport.ToArray(), Array.Empty<string>());
        _debrisRemoved.Clear();
        _deletedSinceReport.Clear();
        if (pending.Count == 0) replyTo.Tell(reply);
        else _collections.Add((replyTo, reply, pending, new List<string>()));
    }

    /// <summary>Removes every step directory without metadata that no save in flight owns.</summary>
    private void RemoveDebris()
    {
        var debris = Scan(_ => false)
            .Where(d => d.Commit is null && !_saves.ContainsKey(d.Step) && !_removing.Contains(d.Step) && !_awaitingRemoval.Contains(d.Step))
            .Select(d => d.Step);
        foreach (var step in debris)
            if (RemoveNow(step, "left by a save that never committed")) _debrisRemoved.Add(step);
    }

    /// <summary>The step directories on disk; one that cannot be read is logged and left out (so left alone).</summary>
    private IReadOnlyList<StepOnDisk> Scan(Func<long, bool> describe)
    {
        var scan = _store.ScanSteps(describe);
        foreach (var problem in scan.Unreadable) _log.Warning("Left alone: {0}", problem);
        return scan.Steps;
    }

    private bool RemoveNow(long step, string why)
    {
        try
        {
            _store.Delete(step, () => _settings.KillAt.Reached("deleting", step));
            _awaitingRemoval.Remove(step);
            _log.Info("Removed the directory of step {0}: {1}", step, why);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.Warning("Could not remove the directory of step {0}: {1}", step, e.Message);
            return false;
        }
    }

    private void RemoveInBackground(long step)
    {
        if (!_removing.Add(step)) return;
        var store = _store;
        var kill = _settings.KillAt;
        Task.Run(() => store.Delete(step, () => kill.Reached("deleting", step)))
            .PipeTo(Self, success: () => new DeletionFinished(step, null), failure: e => new DeletionFinished(step, e.Message));
    }

    private void OnDeletionFinished(DeletionFinished msg)
    {
        _removing.Remove(msg.Step);
        foreach (var c in _collections.ToList().Where(c => c.Pending.Remove(msg.Step)))
        {
            if (msg.Error is not null) c.Failures.Add($"step {msg.Step}: {msg.Error}");
            if (c.Pending.Count > 0) continue;
            c.ReplyTo.Tell(c.Reply with { Failures = c.Failures });
            _collections.Remove(c);
        }
        if (msg.Error is null)
        {
            _awaitingRemoval.Remove(msg.Step);
            _log.Info("Removed the files of deleted step {0}", msg.Step);
        }
        else
        {
            // Left for the next recovery, which removes deleted steps' leftovers (or for `gc`, once
            // the metadata is gone and the rest is debris); nothing waits on it meanwhile.
            _awaitingRemoval.Remove(msg.Step);
            _log.Warning("Could not remove the files of deleted step {0}: {1}", msg.Step, msg.Error);
        }
    }

    private static string Describe(Exception e) => e is ActorCkptException or IOException ? e.Message : $"{e.GetType().Name}: {e.Message}";

    /// <inheritdoc />
    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        // The journal refused the event (it could not serialize or store it) but is still working:
        // the save it was about cannot be recorded, so it is abandoned; the planner keeps running.
        base.OnPersistRejected(cause, @event, sequenceNr);
        if (@event is ICatalogEvent e && _saves.TryGetValue(e.Step, out var save) && @event is not SaveAborted)
        {
            save.Starting = false;
            foreach (var shard in save.Shards.Values) shard.Tell(new CheckpointAborted(save.Step, $"the catalog journal rejected {@event.GetType().Name}: {cause.Message}"));
            save.AbortReason ??= "journal rejected its event";
            Forget(save, removeDebris: !(@event is SaveCommitted));
        }
    }

    /// <inheritdoc />
    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        // The actor stops after this; its supervisor starts it again and recovery settles the catalog.
        // A step whose commit could not be journaled is committed on disk all the same, and
        // recovery records it so; it is not acknowledged as committed before that.
        foreach (var save in _saves.Values)
        {
            var reason = @event is SaveCommitted c && c.Step == save.Step
                ? $"step {save.Step} was written and its metadata renamed into place, but the catalog journal failed ({cause.Message}); the restarted planner records it as committed"
                : $"the catalog journal failed: {cause.Message}";
            foreach (var shard in save.Shards.Values) shard.Tell(new CheckpointAborted(save.Step, reason));
        }
        base.OnPersistFailure(cause, @event, sequenceNr);
    }
}

using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using Akka.Streams.Dsl;

namespace ActorCkpt;

/// <summary>
/// One rank's agent. On <see cref="SaveShard"/> it copies the rank's tensors into pooled host
/// buffers, completes <see cref="SaveHandle.Staged"/>, and sends its local plan to the planner;
/// it hands the planner's assigned files to writers (same node: buffers by reference; another
/// node: a StreamRef of checksummed chunks), asks for another writer when one is lost, reports
/// the outcome, and completes <see cref="SaveHandle.Committed"/> on the planner's verdict. It
/// watches the planner that accepted its plan, so a lost planner fails the save at once. Buffers
/// return to the pool only when no writer and no stream can still read them. On
/// <see cref="LoadShard"/> it loads off-thread. One operation at a time: requests arriving
/// meanwhile wait in the stash. A rank with several saves in flight has one shard actor per
/// save (see <see cref="CheckpointNode.Save"/>); their staging buffers come from one pool per node.
/// </summary>
internal sealed class ShardActor : ReceiveActor, IWithUnboundedStash, IWithTimers
{
    private readonly int _rank;
    private readonly IActorRef _planner;
    private readonly CheckpointStore _store;
    private readonly ActorCkptSettings _settings;
    private readonly StagingPool _pool;
    private readonly ReplicaMemory _replicas;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IMaterializer _materializer = Context.Materializer();
    private readonly string _readerName;
    private ShardSave? _save;
    private ShardLoad? _load;
    private (SaveShard Request, PreparedState Prepared, Task<IReadOnlyList<StagingBuffer>> Rent)? _renting;
    private CancellationTokenSource? _rentCancel;

    /// <summary>Creates the shard actor of <paramref name="rank"/>; use <see cref="Props"/>.</summary>
    public ShardActor(int rank, IActorRef planner, CheckpointStore store, ActorCkptSettings settings, StagingPool pool, string readerName, ReplicaMemory replicas)
    {
        _pool = pool;
        _replicas = replicas;
        _rank = rank;
        _planner = planner;
        _store = store;
        _settings = settings;
        _readerName = readerName;
        Become(Idle);
    }

    /// <inheritdoc />
    public IStash Stash { get; set; } = null!;

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>
    /// Props of the shard actor of <paramref name="rank"/>; <paramref name="planner"/> may be a
    /// singleton proxy; staging buffers come from the node's <paramref name="pool"/>;
    /// <paramref name="readerName"/> names the reader actors loads go through when
    /// <see cref="ActorCkptSettings.LoadThroughReaders"/>; <paramref name="replicas"/> is shared by
    /// the rank's shard actors (a fresh one when null).
    /// </summary>
    public static Props Props(int rank, IActorRef planner, CheckpointStore store, ActorCkptSettings settings, StagingPool pool,
        string readerName = "actorckpt-reader", ReplicaMemory? replicas = null)
    {
        var memory = replicas ?? new ReplicaMemory();
        return Akka.Actor.Props.Create(() => new ShardActor(rank, planner, store, settings, pool, readerName, memory));
    }

    private void Idle()
    {
        Receive<SaveShard>(StartSave);
        Receive<LoadShard>(StartLoad);
        Receive<LoadLeaseGranted>(ReleaseStrayLease);
        // A save already over, or one still stashed (StartSave sees its cancellation).
        Receive<CancelSave>(_ => { });
        ReceiveAny(msg => _log.Debug("Rank {0} ignores {1} while idle", _rank, msg.GetType().Name));
    }

    private void Saving()
    {
        Receive<LocalPlanAccepted>(m => m.Step == _save!.Step && _save.Planner is null, _ =>
        {
            Timers.Cancel(nameof(ResendPlan));
            _save!.Planner = Sender;
            Context.Watch(Sender);
        });
        Receive<ResendPlan>(m => m.Step == _save!.Step && _save.Planner is null && !_save.Decided, _ =>
            _planner.Tell(_save!.Submission));
        Receive<AssignWrites>(m => m.Step == _save!.Step && _save.SaveId is null && !_save.Decided, OnAssignWrites);
        // Only the file's current writer is heard: a writer replaced after it was declared lost may
        // still answer, and its word must not release buffers the new writer is reading.
        Receive<WriteFileSuccess>(m => m.SaveId == _save!.SaveId && IsCurrentWriter(m.Result.FileName), m =>
        {
            _save!.Handle.AddWritten(_save.Outstanding[m.Result.FileName].File.DataBytes);
            _save.Outstanding.Remove(m.Result.FileName);
            _save.Results.Add(m.Result);
            WriteAnswered();
        });
        Receive<WriteFileFailure>(m => m.SaveId == _save!.SaveId && IsCurrentWriter(m.File), m =>
        {
            _save!.Outstanding.Remove(m.File);
            _save.Failures.Add($"'{m.File}' after {m.Attempts} attempts: {m.Cause}");
            WriteAnswered();
        });
        Receive<ResendWrite>(m => m.SaveId == _save!.SaveId, m =>
        {
            if (_save!.Outstanding.TryGetValue(m.File, out var a) && a.Writer.Equals(m.Writer)) Send(a, m.Attempt);
        });
        Receive<WriteReassigned>(m => m.SaveId == _save!.SaveId && _save.Outstanding.ContainsKey(m.Assignment.File.FileName), m =>
        {
            var save = _save!;
            save.Outstanding[m.Assignment.File.FileName] = m.Assignment;
            if (save.LostWriters.Contains(m.Assignment.Writer))
            {
                // The planner had not heard of this loss yet: ask again.
                (save.Planner ?? _planner).Tell(new ReassignWrite(save.Step, save.SaveId!.Value, m.Assignment.File.FileName, m.Assignment.Writer));
                return;
            }
            Context.Watch(m.Assignment.Writer);
            Send(m.Assignment, 1);
        });
        Receive<StreamFile>(m => m.SaveId == _save!.SaveId, OnStreamFile);
        Receive<StreamClosed>(m => m.SaveId == _save!.SaveId, _ =>
        {
            _save!.ActiveStreams--;
            MaybeRelease();
            TryFinish();
        });
        Receive<Terminated>(OnTerminated);
        Receive<CheckpointCommitted>(m => m.Step == _save!.Step && !_save.Decided, m =>
        {
            if (_save!.WrittenElsewhere is { } others) _replicas.Remember(_save.Staged.Fingerprint, others);
            _save.Handle.SetCommitted(m.Summary);
            Decide();
        });
        Receive<CheckpointAborted>(m => m.Step == _save!.Step && !_save.Decided, m => Fail(m.Reason));
        // The save ends when the planner's verdict comes: aborted, or committed if its commit had begun.
        Receive<CancelSave>(m => m.Handle == _save!.Handle && !_save.Decided, _ =>
        {
            _save!.CancelSent = true;
            (_save.Planner ?? _planner).Tell(new AbortSave(_save.Step, _rank, _save.Staged.Plan.WorldSize));
        });
        Receive<CancelSave>(m => m.Handle != _save!.Handle, m => CancelQueued(m.Handle));
        Receive<CancelSave>(_ => { });
        Receive<VerdictDeadlinePassed>(m => m.Step == _save!.Step && !_save.Decided, _ =>
            Fail($"no verdict from the planner within {_settings.PlanTimeout + _settings.WriteTimeout}"));
        Receive<AbandonWrites>(m => m.Step == _save!.Step, _ =>
        {
            // A writer or stream never finished although the save is decided: its buffers cannot
            // be reused or freed safely while something might still read them, so they are left behind.
            _log.Error("Rank {0}: {1} writes and {2} streams of step {3} never finished; abandoning their staging buffers",
                _rank, _save!.Outstanding.Count, _save.ActiveStreams, _save.Step);
            _save.Released = true;
            _save.DeliverVerdict();
            BecomeIdle();
        });
        Receive<SaveShard>(_ => Stash.Stash());
        Receive<LoadShard>(_ => Stash.Stash());
        Receive<LoadLeaseGranted>(ReleaseStrayLease);
        ReceiveAny(msg => _log.Debug("Rank {0} ignores stale {1}", _rank, msg.GetType().Name));
    }

    private void Loading()
    {
        Receive<LoadLeaseGranted>(m => _load is { Step: null } && m.RequestId == _load.RequestId, m =>
        {
            Timers.Cancel(nameof(LeaseDeadlinePassed));
            WatchGrantor();
            RunLoad(_load!, m);
        });
        // A renewal with the planner's successor (see Terminated below).
        Receive<LoadLeaseGranted>(m => _load is { Step: not null } && m.RequestId == _load.RequestId && _load.Grantor is null, _ =>
        {
            Timers.Cancel(nameof(RenewLease));
            WatchGrantor();
            _log.Warning("Rank {0}: the lease on step {1} renewed with {2}", _rank, _load!.Step, Sender.Path);
        });
        Receive<LoadLeaseRefused>(m => _load is { Step: not null } && m.RequestId == _load.RequestId && _load.Grantor is null, m =>
        {
            Timers.Cancel(nameof(RenewLease));
            _log.Warning("Rank {0}: the lease on step {1} could not be renewed ({2}); its files may go before this load ends", _rank, _load!.Step, m.Reason);
        });
        // A renewal asked more than once is answered more than once: the planner holds one lease for
        // it, so an extra answer is no stray to hand back.
        Receive<LoadLeaseGranted>(m => _load is not null && m.RequestId == _load.RequestId, _ => { });
        Receive<Terminated>(t => _load is { Step: not null } && t.ActorRef.Equals(_load.Grantor), _ =>
        {
            // The planner holding the lease stopped, and the lease with it: renew with its successor
            // (a new planner holds file removals for a grace period after it starts, for this),
            // asking again until one answers: a planner restarting takes no messages meanwhile.
            var load = _load!;
            _load = load with { RequestId = Guid.NewGuid(), Grantor = null };
            _log.Warning("Rank {0}: the planner holding the lease on step {1} stopped; renewing it with its successor", _rank, load.Step);
            var renew = new RenewLease(new AcquireLoadLease(_load.RequestId, load.Step, Renew: true));
            Self.Tell(renew);
            Timers.StartPeriodicTimer(nameof(RenewLease), renew, _settings.PlanResendInterval);
        });
        Receive<RenewLease>(m => _planner.Tell(m.Request));
        Receive<LoadLeaseRefused>(m => _load is { Step: null } && m.RequestId == _load.RequestId, m =>
            FinishLoad(new LoadShardFailure(new CheckpointNotFoundException(m.Reason))));
        Receive<LoadLeaseGranted>(ReleaseStrayLease);
        Receive<LeaseDeadlinePassed>(_ => _load is { Step: null }, _ =>
            FinishLoad(new LoadShardFailure(new ActorCkptException($"no planner answered the load request within {_settings.PlanTimeout}"))));
        Receive<LoadCompleted>(m =>
        {
            foreach (var w in m.Warnings) _log.Warning("Rank {0}: {1}", _rank, w);
            FinishLoad(m.Reply);
        });
        Receive<SaveShard>(_ => Stash.Stash());
        Receive<LoadShard>(_ => Stash.Stash());
        Receive<CancelSave>(m => CancelQueued(m.Handle));
        ReceiveAny(msg => _log.Debug("Rank {0} ignores {1} while loading", _rank, msg.GetType().Name));
    }

    /// <summary>
    /// Describes the state, rents its buffers from the node's pool (waiting, with other requests
    /// stashed, when the staging budget is used up by saves in flight), then stages it.
    /// </summary>
    private void StartSave(SaveShard msg)
    {
        PreparedState prepared;
        Task<IReadOnlyList<StagingBuffer>> rent;
        if (msg.Handle.CancelRequested)
        {
            // The other ranks' plans may be on their way: the planner refuses them rather than wait for this one.
            _planner.Tell(new AbortSave(msg.Step, _rank, msg.State.WorldSize));
            msg.Handle.Cancel();
            return;
        }
        try
        {
            if (msg.Step < 0) throw new ArgumentOutOfRangeException(nameof(msg.Step), msg.Step, "steps are non-negative");
            if (msg.State.Rank != _rank)
                throw new ArgumentException($"state of rank {msg.State.Rank} sent to the shard actor of rank {_rank}");
            prepared = StateStager.Prepare(msg.State, _settings.MaxItemBytes, msg.InPlace);
            if (_settings.SkipReplicasWrittenElsewhere) prepared = prepared.Skipping(_replicas.SkippableFor(prepared.Fingerprint));
            _rentCancel = new CancellationTokenSource();
            rent = _pool.RentAllAsync(prepared.Lengths, msg.Step, _rentCancel.Token);
        }
        catch (Exception e)
        {
            msg.Handle.Fail(e);
            return;
        }
        if (rent.IsCompletedSuccessfully)
        {
            Stage(msg, prepared, rent.Result);
            return;
        }
        _log.Info("Rank {0}: step {1} waits for staging buffers (budget {2} bytes in use by saves in flight)", _rank, msg.Step, _pool.BudgetBytes);
        _renting = (msg, prepared, rent);
        rent.ContinueWith(_ => new BuffersRented(), TaskScheduler.Default).PipeTo(Self);
        Timers.StartSingleTimer(nameof(BuffersDeadlinePassed), new BuffersDeadlinePassed(), _settings.PlanTimeout);
        Become(WaitingForBuffers);
    }

    private void WaitingForBuffers()
    {
        Receive<BuffersRented>(_ =>
        {
            var (msg, prepared, rent) = _renting!.Value;
            _renting = null;
            Timers.Cancel(nameof(BuffersDeadlinePassed));
            if (msg.Handle.CancelRequested)
            {
                if (rent.IsCompletedSuccessfully) _pool.Return(rent.Result);
                _planner.Tell(new AbortSave(msg.Step, _rank, msg.State.WorldSize));
                msg.Handle.Cancel();
                BecomeIdle();
                return;
            }
            if (rent.IsCompletedSuccessfully)
            {
                Stage(msg, prepared, rent.Result);
                return;
            }
            msg.Handle.Fail(rent.IsCanceled
                ? new ActorCkptException($"step {msg.Step} waited {_settings.PlanTimeout} for staging buffers (actorckpt.staging.budget = {_pool.BudgetBytes} bytes) and gave up")
                : rent.Exception!.InnerException!);
            BecomeIdle();
        });
        // Cancelling the request answers it (cancelled, or with buffers if they came first): BuffersRented follows.
        Receive<BuffersDeadlinePassed>(_ => _rentCancel?.Cancel());
        Receive<CancelSave>(m => m.Handle == _renting?.Request.Handle, _ => _rentCancel?.Cancel());
        Receive<CancelSave>(m => CancelQueued(m.Handle));
        Receive<SaveShard>(_ => Stash.Stash());
        Receive<LoadShard>(_ => Stash.Stash());
        Receive<LoadLeaseGranted>(ReleaseStrayLease);
        ReceiveAny(msg => _log.Debug("Rank {0} ignores {1} while waiting for buffers", _rank, msg.GetType().Name));
    }

    /// <summary>
    /// A save still waiting in the stash behind the one under way: its caller hears at once; when its
    /// turn comes, <see cref="StartSave"/> sees the cancellation and tells the planner.
    /// </summary>
    private static void CancelQueued(SaveHandle handle) => handle.Cancel();

    /// <summary>Copies the state into its buffers, completes Staged and sends the plan.</summary>
    private void Stage(SaveShard msg, PreparedState prepared, IReadOnlyList<StagingBuffer> buffers)
    {
        StagedState staged;
        try
        {
            staged = StateStager.Fill(prepared, buffers);
        }
        catch (Exception e)
        {
            _pool.Return(buffers);
            msg.Handle.Fail(e);
            BecomeIdle();
            return;
        }
        msg.Handle.SetStaged(prepared.Lengths.Sum());
        _settings.KillAt.Reached("staged", msg.Step);
        _save = new ShardSave(msg.Step, msg.Handle, staged) { InPlace = msg.InPlace };
        // Until a planner acknowledges it, the plan is sent again: one lost with a planner that
        // died reaches the singleton's successor.
        _planner.Tell(_save.Submission);
        Timers.StartPeriodicTimer(nameof(ResendPlan), new ResendPlan(msg.Step), _settings.PlanResendInterval);
        // The planner's own deadlines answer first; this one only guards against a planner that is gone.
        Timers.StartSingleTimer(nameof(VerdictDeadlinePassed), new VerdictDeadlinePassed(msg.Step), _settings.PlanTimeout + _settings.WriteTimeout);
        Become(Saving);
    }

    private void OnAssignWrites(AssignWrites msg)
    {
        var save = _save!;
        save.SaveId = msg.SaveId;
        var unstaged = save.Staged.Plan.Unstaged.ToHashSet();
        var writable = new List<WriteAssignment>();
        foreach (var a in msg.Files)
        {
            // Only a planner that ignored the plan's unstaged items assigns one; writing it would
            // write bytes this rank does not have.
            if (a.File.Items.FirstOrDefault(i => unstaged.Contains(i.Index)) is { } missing)
            {
                save.Failures.Add($"'{a.File.FileName}': rank {_rank} did not stage '{missing.Key}' {missing.Box} (a replica it left to another rank)");
                continue;
            }
            writable.Add(a);
            save.Outstanding[a.File.FileName] = a;
            Context.Watch(a.Writer);
        }
        var written = msg.Files.SelectMany(a => a.File.Items).Select(i => i.Index).ToHashSet();
        save.WrittenElsewhere = save.Staged.Plan.Items
            .Where(i => i.Kind == WriteItemKind.Tensor && !written.Contains(i.Index)).Select(i => i.Index).ToArray();
        save.Handle.SetBytesToWrite(writable.Sum(a => a.File.DataBytes));
        foreach (var a in writable) Send(a, 1);
        if (writable.Count == 0) Report();
    }

    private bool IsCurrentWriter(string file) => _save!.Outstanding.TryGetValue(file, out var a) && a.Writer.Equals(Sender);

    /// <summary>Hands a file to its writer: staged buffers by reference on this node, a stream of chunks to another node.</summary>
    private void Send(WriteAssignment a, int attempt)
    {
        var save = _save!;
        var saveId = save.SaveId!.Value;
        if (a.Writer is IActorRefScope { IsLocal: true })
        {
            a.Writer.Tell(new WriteFile(save.Step, saveId, a.File, a.File.Items.Select(save.Staged.BytesOf).ToArray(), Self, attempt));
            return;
        }
        // The stream's own termination (done, failed, cancelled, or never subscribed to within the
        // subscription timeout) says when the staged buffers are no longer read.
        a.Writer.Tell(new WriteFileStreamed(save.Step, saveId, a.File, Self, attempt));
    }

    /// <summary>A remote writer starts a file: its bytes go out as a StreamRef of chunks, materialized now.</summary>
    private void OnStreamFile(StreamFile request)
    {
        var save = _save!;
        if (!save.Outstanding.TryGetValue(request.File, out var a) || !a.Writer.Equals(request.Writer))
        {
            Sender.Tell(new StreamFileFailure($"'{request.File}' is not this writer's to write any more"));
            return;
        }
        // The stream's own termination (done, failed, cancelled, or never subscribed to within the
        // subscription timeout) says when the staged buffers are no longer read.
        save.ActiveStreams++;
        var self = Self;
        var saveId = request.SaveId;
        var (closed, source) = Source.FromEnumerator(() => TransferChunks.Of(save.Staged, a.File, _settings.TransferChunkSize).GetEnumerator())
            .WatchTermination(Keep.Right)
            .ToMaterialized(StreamRefs.SourceRef<TransferChunk>(), Keep.Both)
            .Run(_materializer);
        closed.ContinueWith(_ => self.Tell(new StreamClosed(saveId)), TaskContinuationOptions.ExecuteSynchronously);
        source.PipeTo(Sender, success: s => new StreamFileSuccess(s), failure: e => new StreamFileFailure("cannot stream: " + e.Message));
    }

    private void OnTerminated(Terminated t)
    {
        var save = _save!;
        if (t.ActorRef.Equals(save.Planner) && !save.Decided)
        {
            Fail($"the planner {t.ActorRef.Path} was lost");
            return;
        }
        save.LostWriters.Add(t.ActorRef);
        if (save.Decided)
        {
            ReleaseIfDone();
            return;
        }
        foreach (var a in save.Outstanding.Values.Where(a => a.Writer.Equals(t.ActorRef)).ToList())
        {
            _log.Warning("Rank {0}: writer {1} of '{2}' was lost; asking for another", _rank, t.ActorRef.Path, a.File.FileName);
            (save.Planner ?? _planner).Tell(new ReassignWrite(save.Step, save.SaveId!.Value, a.File.FileName, t.ActorRef));
        }
    }

    /// <summary>
    /// Once the save is decided, stops waiting for files of lost writers (nobody will answer them),
    /// gives the buffers back when nothing can read them any more, and goes idle then. True when it did.
    /// </summary>
    private bool ReleaseIfDone()
    {
        var save = _save!;
        var lost = save.Outstanding.Where(o => save.LostWriters.Contains(o.Value.Writer)).ToList();
        foreach (var (file, a) in lost)
        {
            save.Outstanding.Remove(file);
            save.Failures.Add($"'{file}': its writer {a.Writer.Path} was lost");
        }
        // The planner waits for every rank's report before it lets an aborted attempt go.
        if (lost.Count > 0 && save.Outstanding.Count == 0) Report();
        MaybeRelease();
        var done = save.Released;
        TryFinish();
        return done;
    }

    private void WriteAnswered()
    {
        if (_save!.Outstanding.Count > 0) return;
        Report();
        MaybeRelease();
        TryFinish();
    }

    private void Report() => _planner.Tell(new ReportWrites(_save!.Step, _save.SaveId!.Value, _rank, _save.Results.ToArray(), _save.Failures.ToArray()));

    private void Fail(string reason)
    {
        _replicas.Forget();
        var save = _save!;
        // The abort this rank's cancellation asked for ends the save as cancelled; any other, as failed.
        Action verdict = save.CancelSent && reason == new AbortSave(save.Step, _rank, 0).Reason
            ? save.Handle.Cancel
            : () => save.Handle.Fail(new CheckpointFailedException(save.Step, reason));
        // Saved in place, the caller's own tensors are what writers read: it hears the verdict (and
        // may change or free them) only once no writer can read them any more.
        if (save.InPlace && !save.Released) save.PendingVerdict = verdict;
        else verdict();
        Decide();
    }

    private void Decide()
    {
        _save!.Decided = true;
        if (!ReleaseIfDone())
            Timers.StartSingleTimer(nameof(AbandonWrites), new AbandonWrites(_save.Step), _settings.WriteTimeout);
    }

    private void MaybeRelease()
    {
        var save = _save!;
        if (save.Released || save.Outstanding.Count > 0 || save.ActiveStreams > 0) return;
        save.Released = true;
        _pool.Return(save.Staged.Buffers);
        save.DeliverVerdict();
    }

    private void TryFinish()
    {
        if (_save!.Decided && _save.Released) BecomeIdle();
    }

    /// <summary>
    /// A load first takes a lease from the planner, which resolves the step and keeps it from being
    /// deleted until this shard releases it (or stops); the load itself runs off-thread.
    /// </summary>
    private void StartLoad(LoadShard msg)
    {
        _load = new ShardLoad(msg, Sender, Guid.NewGuid(), null, null);
        _planner.Tell(new AcquireLoadLease(_load.RequestId, msg.Step));
        Timers.StartSingleTimer(nameof(LeaseDeadlinePassed), new LeaseDeadlinePassed(), _settings.PlanTimeout);
        Become(Loading);
    }

    private void RunLoad(ShardLoad load, LoadLeaseGranted lease)
    {
        _load = load with { Step = lease.Step };
        var msg = load.Request;
        var parallelism = _settings.LoadParallelism;
        var fetch = _settings.LoadThroughReaders ? FetchFromReaders() : null;
        var strict = msg.Strict ?? _settings.LoadStrict;
        Task.Run(() => ShardLoader.LoadAsync(_store, msg.Target, lease.Step, lease.MetadataChecksum, strict, parallelism, fetch, msg.Progress, msg.Prepare, msg.Cancellation))
            .ContinueWith(t => t.IsCompletedSuccessfully ? new LoadCompleted(new LoadShardSuccess(t.Result.Result), t.Result.Warnings)
                // A cancelled task carries no exception: the load stopped between reads, as its caller asked.
                : t.IsCanceled ? new LoadCompleted(new LoadShardFailure(new OperationCanceledException(msg.Cancellation)), Array.Empty<string>())
                : new LoadCompleted(new LoadShardFailure(t.Exception!.InnerExceptions.Count == 1 ? t.Exception.InnerException! : t.Exception), Array.Empty<string>()))
            .PipeTo(Self);
    }

    private void WatchGrantor()
    {
        _load = _load! with { Grantor = Sender };
        Context.Watch(Sender);
    }

    /// <summary>A lease granted for a load given up already (its answer came too late): handed straight back.</summary>
    private void ReleaseStrayLease(LoadLeaseGranted lease) => Sender.Tell(new ReleaseLoadLease(lease.Step));

    private void FinishLoad(object reply)
    {
        var load = _load!;
        Timers.Cancel(nameof(RenewLease));
        if (load.Grantor is not null) Context.Unwatch(load.Grantor);
        if (load.Step is { } step) _planner.Tell(new ReleaseLoadLease(step));
        load.ReplyTo.Tell(reply);
        _load = null;
        BecomeIdle();
    }

    /// <summary>Fetches a byte range from the reader on the node that wrote the file, as a stream of verified chunks.</summary>
    private RangeFetcher FetchFromReaders()
    {
        var system = Context.System;
        var materializer = _materializer;
        var readerName = _readerName;
        var timeout = _settings.WriteTimeout;
        return async (node, step, file, offset, length) =>
        {
            var reader = system.ActorSelection(new RootActorPath(Address.Parse(node)) / "user" / readerName);
            var reply = await reader.Ask<IActorCkptMessage>(new ReadRange(step, file, offset, length), timeout);
            if (reply is not ReadRangeStreamed streamed)
                throw new ActorCkptException($"reader on {node} could not serve '{file}': {(reply as ReadRangeFailure)?.Cause}");
            var buffer = new byte[length];
            long received = 0;
            await streamed.Source.Source.RunForeach(chunk =>
            {
                if (!TransferChunks.IsIntact(chunk) || chunk.Offset != received || received + chunk.Bytes.Length > length)
                    throw new ActorCkptException($"chunk of '{file}' at {chunk.Offset} from {node} arrived corrupted or out of order");
                chunk.Bytes.CopyTo(buffer, chunk.Offset);
                received += chunk.Bytes.Length;
            }, materializer);
            return received == length ? buffer : throw new ActorCkptException($"'{file}' from {node}: {received} of {length} bytes arrived");
        };
    }

    private void BecomeIdle()
    {
        Timers.CancelAll();
        _save = null;
        Become(Idle);
        Stash.UnstashAll();
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        if (_save is { Released: false } save && save.Outstanding.Count == 0 && save.ActiveStreams == 0) _pool.Return(save.Staged.Buffers);
        // Buffers still being waited for go straight back when they come; no handle is left hanging.
        if (_renting is { } renting)
        {
            var pool = _pool;
            _rentCancel?.Cancel();
            renting.Rent.ContinueWith(t => pool.Return(t.Result), TaskContinuationOptions.OnlyOnRanToCompletion);
            renting.Request.Handle.Fail(new ActorCkptException($"the shard actor of rank {_rank} stopped before step {renting.Request.Step} was staged"));
        }
        _save?.DeliverVerdict();
        _save?.Handle.Fail(new CheckpointFailedException(_save.Step, $"the shard actor of rank {_rank} stopped"));
    }

    private sealed record LoadCompleted(object Reply, IReadOnlyList<string> Warnings);

    private sealed record LeaseDeadlinePassed;

    private sealed record RenewLease(AcquireLoadLease Request);

    /// <summary>The load in progress: the request, who asked, the lease request's id, the step once the lease resolved it, and the planner that granted it.</summary>
    private sealed record ShardLoad(LoadShard Request, IActorRef ReplyTo, Guid RequestId, long? Step, IActorRef? Grantor);

    private sealed record AbandonWrites(long Step);

    private sealed record VerdictDeadlinePassed(long Step);

    private sealed record ResendPlan(long Step);

    private sealed record BuffersRented;

    private sealed record BuffersDeadlinePassed;

    private sealed record StreamClosed(Guid SaveId);
}

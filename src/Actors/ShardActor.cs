using Akka.Actor;
using Akka.Event;
using ActorCkpt.Io;

namespace ActorCkpt.Actors;

/// <summary>
/// One rank's agent. On <see cref="SaveShard"/> it copies the rank's tensors into pooled host
/// buffers, completes <see cref="SaveHandle.Staged"/>, and sends its local plan to the planner;
/// it hands the planner's assigned files to writers (buffers by reference), reports the outcome,
/// and completes <see cref="SaveHandle.Committed"/> on the planner's verdict. Buffers return to the
/// pool only when no writer can still read them. On <see cref="LoadShard"/> it loads off-thread.
/// One operation at a time: requests arriving meanwhile wait in the stash.
/// </summary>
public sealed class ShardActor : ReceiveActor, IWithUnboundedStash, IWithTimers
{
    private readonly int _rank;
    private readonly IActorRef _planner;
    private readonly CheckpointStore _store;
    private readonly ActorCkptSettings _settings;
    private readonly StagingPool _pool = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private ShardSave? _save;

    /// <summary>Creates the shard actor of <paramref name="rank"/>; use <see cref="Props"/>.</summary>
    public ShardActor(int rank, IActorRef planner, CheckpointStore store, ActorCkptSettings settings)
    {
        _rank = rank;
        _planner = planner;
        _store = store;
        _settings = settings;
        Become(Idle);
    }

    /// <inheritdoc />
    public IStash Stash { get; set; } = null!;

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props of the shard actor of <paramref name="rank"/>.</summary>
    public static Props Props(int rank, IActorRef planner, CheckpointStore store, ActorCkptSettings settings) =>
        Akka.Actor.Props.Create(() => new ShardActor(rank, planner, store, settings));

    private void Idle()
    {
        Receive<SaveShard>(StartSave);
        Receive<LoadShard>(StartLoad);
        ReceiveAny(msg => _log.Debug("Rank {0} ignores {1} while idle", _rank, msg.GetType().Name));
    }

    private void Saving()
    {
        Receive<AssignWrites>(m => m.Step == _save!.Step && _save.SaveId is null, OnAssignWrites);
        Receive<WriteFileSuccess>(m => m.SaveId == _save!.SaveId, m =>
        {
            _save!.Results.Add(m.Result);
            WriteAnswered();
        });
        Receive<WriteFileFailure>(m => m.SaveId == _save!.SaveId, m =>
        {
            _save!.Failures.Add($"'{m.File}' after {m.Attempts} attempts: {m.Cause}");
            WriteAnswered();
        });
        Receive<CheckpointCommitted>(m => m.Step == _save!.Step && !_save.Decided, m =>
        {
            _save!.Handle.SetCommitted(m.Summary);
            Decide();
        });
        Receive<CheckpointAborted>(m => m.Step == _save!.Step && !_save.Decided, m =>
        {
            _save!.Handle.Fail(new CheckpointFailedException(m.Step, m.Reason));
            Decide();
        });
        Receive<VerdictDeadlinePassed>(m => m.Step == _save!.Step && !_save.Decided, m =>
        {
            _save!.Handle.Fail(new CheckpointFailedException(m.Step,
                $"no verdict from the planner within {_settings.PlanTimeout + _settings.WriteTimeout}"));
            Decide();
        });
        Receive<AbandonWrites>(m => m.Step == _save!.Step, _ =>
        {
            // A writer never answered although the save is decided: its buffers cannot be reused
            // or freed safely while it might still read them, so they are left behind.
            _log.Error("Rank {0}: {1} writes of step {2} never answered; abandoning their staging buffers", _rank, _save!.PendingWrites, _save.Step);
            _save.Released = true;
            BecomeIdle();
        });
        Receive<SaveShard>(_ => Stash.Stash());
        Receive<LoadShard>(_ => Stash.Stash());
        ReceiveAny(msg => _log.Debug("Rank {0} ignores stale {1}", _rank, msg.GetType().Name));
    }

    private void Loading()
    {
        Receive<LoadCompleted>(m =>
        {
            m.ReplyTo.Tell(m.Reply);
            BecomeIdle();
        });
        Receive<SaveShard>(_ => Stash.Stash());
        Receive<LoadShard>(_ => Stash.Stash());
        ReceiveAny(msg => _log.Debug("Rank {0} ignores {1} while loading", _rank, msg.GetType().Name));
    }

    private void StartSave(SaveShard msg)
    {
        StagedState staged;
        try
        {
            if (msg.Step < 0) throw new ArgumentOutOfRangeException(nameof(msg.Step), msg.Step, "steps are non-negative");
            if (msg.State.Rank != _rank)
                throw new ArgumentException($"state of rank {msg.State.Rank} sent to the shard actor of rank {_rank}");
            staged = StateStager.Stage(msg.State, _pool, _settings.MaxItemBytes);
        }
        catch (Exception e)
        {
            msg.Handle.Fail(e);
            return;
        }
        msg.Handle.SetStaged();
        _save = new ShardSave(msg.Step, msg.Handle, staged);
        _planner.Tell(new SubmitLocalPlan(msg.Step, staged.Plan));
        // The planner's own deadlines answer first; this one only guards against a planner that is gone.
        Timers.StartSingleTimer(nameof(VerdictDeadlinePassed), new VerdictDeadlinePassed(msg.Step), _settings.PlanTimeout + _settings.WriteTimeout);
        Become(Saving);
    }

    private void OnAssignWrites(AssignWrites msg)
    {
        var save = _save!;
        save.SaveId = msg.SaveId;
        save.PendingWrites = msg.Files.Count;
        foreach (var a in msg.Files)
            a.Writer.Tell(new WriteFile(save.Step, msg.SaveId, a.File, a.File.Items.Select(save.Staged.BytesOf).ToArray(), Self));
        if (msg.Files.Count == 0) Report();
    }

    private void WriteAnswered()
    {
        if (--_save!.PendingWrites > 0) return;
        Release();
        Report();
        if (_save.Decided) BecomeIdle();
    }

    private void Report() => _planner.Tell(new ReportWrites(_save!.Step, _save.SaveId!.Value, _rank, _save.Results.ToArray(), _save.Failures.ToArray()));

    private void Decide()
    {
        _save!.Decided = true;
        if (_save.PendingWrites > 0)
        {
            Timers.StartSingleTimer(nameof(AbandonWrites), new AbandonWrites(_save.Step), _settings.WriteTimeout);
            return;
        }
        Release();
        BecomeIdle();
    }

    private void Release()
    {
        if (_save!.Released) return;
        _save.Released = true;
        _pool.Return(_save.Staged.Buffers);
    }

    private void StartLoad(LoadShard msg)
    {
        var replyTo = Sender;
        var parallelism = _settings.LoadParallelism;
        Task.Run(() => ShardLoader.Load(_store, msg.Target, msg.Step, msg.AllowPartial, parallelism))
            .ContinueWith(t => new LoadCompleted(replyTo, t.IsCompletedSuccessfully
                ? new LoadShardSuccess(t.Result)
                : new LoadShardFailure(t.Exception!.InnerExceptions.Count == 1 ? t.Exception.InnerException! : t.Exception)))
            .PipeTo(Self);
        Become(Loading);
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
        if (_save is { Released: false } save && save.PendingWrites == 0) _pool.Return(save.Staged.Buffers);
        _pool.Dispose();
    }

    private sealed record LoadCompleted(IActorRef ReplyTo, object Reply);

    private sealed record AbandonWrites(long Step);

    private sealed record VerdictDeadlinePassed(long Step);
}

using Akka.Actor;
using Akka.Event;

namespace ActorCkpt;

/// <summary>
/// The parent of the root's planner. It starts the planner, forwards every message to it, and when
/// the planner stops before it has started (the catalog lock refused, the journal's recovery
/// failed) or dies later, starts it again after a backoff, holding messages meanwhile. Tries in a
/// row are bounded (<see cref="PlannerStarts"/>): after the last, a stand-in takes the planner's
/// place that refuses every save at once with the one line naming why and grants loads from the
/// disk (no planner runs, so nothing is deleted under them). Each failed try is logged once.
/// </summary>
internal sealed class PlannerSupervisorActor : ReceiveActor, IWithTimers, IWithUnboundedStash
{
    private readonly Props _planner;
    private readonly CheckpointStore _store;
    private readonly PlannerStarts _starts;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<IActorRef> _awaiting = new();
    private IActorRef? _child;
    private string? _failure;
    private string? _gaveUp;
    private bool _started;

    /// <summary>Supervises the planner <paramref name="planner"/> creates, over <paramref name="store"/>.</summary>
    public PlannerSupervisorActor(Props planner, CheckpointStore store, ActorCkptSettings settings)
    {
        (_planner, _store) = (planner, store);
        _starts = new PlannerStarts(settings.PlannerStartAttempts, settings.PlannerStartBackoff);
        Become(Running);
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <inheritdoc />
    public IStash Stash { get; set; } = null!;

    /// <summary>Props of the supervised planner of <paramref name="store"/>'s root.</summary>
    public static Props Props(CheckpointStore store, ActorCkptSettings settings, string persistenceId, string writerPoolName) =>
        Akka.Actor.Props.Create(() => new PlannerSupervisorActor(
            PlannerActor.Props(store, settings, persistenceId, writerPoolName, true), store, settings));

    /// <inheritdoc />
    protected override void PreStart() => StartPlanner();

    /// <summary>
    /// A planner that fails to initialise (its lock refused in PreStart) is stopped, not restarted in
    /// place: the next try is a new planner after a backoff. Any later failure restarts it as Akka would.
    /// </summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(e =>
    {
        if (e is not ActorInitializationException init) return Akka.Actor.SupervisorStrategy.DefaultDecider.Decide(e);
        _failure = ErrorText.Of(init.InnerException ?? init);
        return Directive.Stop;
    }, loggingEnabled: false);

    private void Running()
    {
        Receive<PlannerStarted>(_ =>
        {
            _started = true;
            _starts.Started();
            Settle(null);
        });
        Receive<PlannerStartFailed>(m => _failure = m.Reason);
        // Terminated overtakes the planner's last words (PlannerStartFailed, an ordinary message
        // already in this mailbox): decide once this note, queued behind them, comes round.
        Receive<Terminated>(t => t.ActorRef.Equals(_child), _ =>
        {
            _child = null;
            Self.Tell(PlannerStopped.Instance);
            Become(Down);
        });
        Receive<AwaitPlannerStart>(_ => Await());
        ReceiveAny(m => _child!.Forward(m));
    }

    /// <summary>No planner runs: messages wait for the next one (or the stand-in).</summary>
    private void Down()
    {
        Receive<PlannerStartFailed>(m => _failure = m.Reason);
        Receive<PlannerStopped>(_ => Failed());
        Receive<RestartPlanner>(_ =>
        {
            StartPlanner();
            Become(Running);
            Stash.UnstashAll();
        });
        Receive<AwaitPlannerStart>(_ => Await());
        ReceiveAny(_ => Stash.Stash());
    }

    private void StartPlanner()
    {
        (_failure, _started) = (null, false);
        _child = Context.Watch(Context.ActorOf(_planner, "planner"));
    }

    private void Failed()
    {
        var reason = _started ? "it stopped" : _failure ?? "it stopped while starting";
        switch (_starts.Failed(reason))
        {
            case PlannerStartDecision.RetryAfter retry:
                _log.Warning(retry.Line);
                Timers.StartSingleTimer(nameof(RestartPlanner), RestartPlanner.Instance, retry.Backoff);
                break;
            case PlannerStartDecision.GiveUp giveUp:
                _log.Error(giveUp.Why);
                _child = Context.ActorOf(ReadOnlyPlannerActor.Props(_store, giveUp.Why), "stand-in");
                Settle(giveUp.Why);
                Become(GaveUp);
                Stash.UnstashAll();
                break;
        }
    }

    private void GaveUp()
    {
        Receive<AwaitPlannerStart>(_ => Await());
        ReceiveAny(m => _child!.Forward(m));
    }

    private void Await()
    {
        if (_started || _gaveUp is not null) Sender.Tell(new PlannerStartSettled(_gaveUp));
        else _awaiting.Add(Sender);
    }

    private void Settle(string? gaveUp)
    {
        _gaveUp = gaveUp;
        foreach (var asker in _awaiting) asker.Tell(new PlannerStartSettled(gaveUp));
        _awaiting.Clear();
    }

    private sealed record PlannerStopped
    {
        public static readonly PlannerStopped Instance = new();
    }

    private sealed record RestartPlanner
    {
        public static readonly RestartPlanner Instance = new();
    }
}

using Akka.Actor;
using Akka.Event;

namespace ActorCkpt;

/// <summary>
/// The parent of the root's planner. It starts the planner and holds every message until the
/// planner has started (recovered its catalog and journaled what recovery found), then forwards
/// them. A planner that stops before that (the catalog lock refused, the journal's recovery or
/// first write failed), or stops within <see cref="StableAfter"/> of starting, counts as a failed
/// start: it is started again after a backoff, messages still held. Tries in a row are bounded
/// (<see cref="PlannerStarts"/>): after the last, a stand-in takes the planner's place that refuses
/// every save at once with the one line naming why and grants loads from the disk (no planner
/// runs, so nothing is deleted under them), until one more try after <c>planner.start-again-after</c>
/// (and again after each failed one: a catalog server back, a root freed). Each failed try is logged once. A running planner that
/// fails is restarted in place, at most <see cref="MaxRestarts"/> times within <see cref="RestartWindow"/>;
/// one more failure stops it, and that stop is a failed try too, so a planner that fails whenever it
/// runs (a bug) ends in the stand-in for good, not in a loop. A planner that refuses to start for a
/// reason no try changes (<see cref="PlannerStartFailed.Final"/>: a copy of a root, a catalog record that cannot be decoded) ends there at once.
/// </summary>
internal sealed class PlannerSupervisorActor : ReceiveActor, IWithTimers, IWithUnboundedStash
{
    /// <summary>A planner that has run this long since it started has started well: a later stop begins a new run of tries.</summary>
    public static readonly TimeSpan StableAfter = TimeSpan.FromSeconds(10);

    /// <summary>In-place restarts of a running planner allowed within <see cref="RestartWindow"/>; one failure more stops it.</summary>
    public const int MaxRestarts = 10;

    /// <summary>The window over which <see cref="MaxRestarts"/> counts.</summary>
    public static readonly TimeSpan RestartWindow = TimeSpan.FromMinutes(1);

    private readonly Queue<DateTime> _recentFailures = new();

    private readonly Props _planner;
    private readonly CheckpointStore _store;
    private readonly PlannerStarts _starts;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<IActorRef> _awaiting = new();
    private IActorRef? _child;
    // Once given up: what answers in the planner's place, also while a later try runs, until a planner has started.
    private IActorRef? _standIn;
    // Stand-ins made so far: each gets a name of its own, a replaced one possibly not yet gone.
    private int _standIns;
    private string? _failure;
    private string? _gaveUp;
    private bool _started;
    // The planner ran and failed too often (a bug, most likely): given up, it is not tried again.
    private bool _crashLooped;
    // The planner refused to start for a reason no later try changes: given up at once, for good.
    private bool _final;

    /// <summary>Supervises the planner <paramref name="planner"/> creates, over <paramref name="store"/>.</summary>
    public PlannerSupervisorActor(Props planner, CheckpointStore store, ActorCkptSettings settings)
    {
        (_planner, _store) = (planner, store);
        _starts = new PlannerStarts(settings.PlannerStartAttempts, settings.PlannerStartBackoff, settings.PlannerStartAgainAfter);
        Starting();
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <inheritdoc />
    public IStash Stash { get; set; } = null!;

    /// <summary>Props of the supervised planner of <paramref name="store"/>'s root.</summary>
    public static Props Props(CheckpointStore store, ActorCkptSettings settings, string persistenceId, string writerPoolName) =>
        Akka.Actor.Props.Create(() => new PlannerSupervisorActor(
            PlannerActor.Props(store, settings, persistenceId, writerPoolName, true), store, settings));

    /// <summary>
    /// Requests a planner answers that are handed to the next planner (or the stand-in) when they reach
    /// one that is stopping (its journal failed a write): each would otherwise be lost, and its asker wait
    /// out its timeout. Asking again gives the same answer, so none is done twice by being rescued. Saves'
    /// messages are not among them: their ranks hear of the stop and end the save themselves.
    /// </summary>
    private static readonly HashSet<Type> Rescued =
    [
        typeof(ReadCatalog), typeof(ResolveLatestStep), typeof(CollectGarbage), typeof(AwaitUploads), typeof(AwaitPersists),
        typeof(ListWriters), typeof(ListHolders), typeof(RegisterWriters),
    ];

    /// <inheritdoc />
    protected override void PreStart()
    {
        Context.System.EventStream.Subscribe(Self, typeof(DeadLetter));
        StartPlanner();
    }

    /// <inheritdoc />
    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self, typeof(DeadLetter));

    /// <summary>
    /// A request forwarded to a planner (or stand-in) that stopped before it was handled: while the planner it
    /// reached is the current one, its stop is not seen yet (Terminated follows), so the request waits with
    /// the others; otherwise it goes where a request goes now.
    /// </summary>
    private void Rescue(DeadLetter lost)
    {
        if (lost.Recipient.Equals(_child)) Stash.Stash();
        else Self.Tell(lost.Message, lost.Sender);
    }

    private bool IsRescued(DeadLetter lost) =>
        Rescued.Contains(lost.Message.GetType()) && lost.Recipient.Path.Parent.Equals(Self.Path);

    /// <summary>
    /// A planner that fails to initialise (its lock refused in PreStart) is stopped, not restarted in
    /// place: the next try is a new planner after a backoff, and the try is logged by <see cref="Failed"/>.
    /// Any later failure restarts it as Akka would, logged here, at most <see cref="MaxRestarts"/>
    /// times within <see cref="RestartWindow"/>: one more stops it, naming the failure for <see cref="Failed"/>.
    /// </summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(e =>
    {
        if (e is ActorInitializationException init)
        {
            _failure = ErrorText.Of(init.InnerException ?? init);
            _final = HeldByAnotherProcess(init.InnerException);
            return Directive.Stop;
        }
        var now = DateTime.UtcNow;
        _recentFailures.Enqueue(now);
        while (now - _recentFailures.Peek() > RestartWindow) _recentFailures.Dequeue();
        if (_recentFailures.Count > MaxRestarts)
        {
            _failure = $"it failed {_recentFailures.Count} times within {RestartWindow.TotalSeconds:0} s, last with {ErrorText.Of(e)}";
            _crashLooped = true;
            _recentFailures.Clear();
            return Directive.Stop;
        }
        _log.Error(e, "the checkpoint planner failed and restarts: {0}", ErrorText.Of(e));
        return Akka.Actor.SupervisorStrategy.DefaultDecider.Decide(e);
    }, loggingEnabled: false);

    /// <summary>
    /// True when <paramref name="refusal"/> is the root's lock held by another process, outside a cluster: a second job on the root, or
    /// a command such as gc. No try within the backoff's seconds frees it, so the start fails at once, as a checkpointer that finds the
    /// lock held as it starts does; before, a start that raced the other process's tried five times, logging each, for 3 s. In a cluster
    /// the holder may be the singleton's predecessor, still stopping; in this process, a checkpointer on the root still disposing.
    /// </summary>
    private static bool HeldByAnotherProcess(Exception? refusal) =>
        !Context.System.IsClustered() && refusal is RootLockedException { HolderProcessId: { } pid, HolderHostName: { } host }
        && (pid != Environment.ProcessId || host != Environment.MachineName);

    /// <summary>A planner is starting: messages wait until it has.</summary>
    private void Starting()
    {
        Receive<PlannerStarted>(_ => Started());
        CommonToLiveChild();
        ReceiveAny(_ => Stash.Stash());
    }

    /// <summary>The planner has started: it takes over from the stand-in, if one answered, and gets what waited.</summary>
    private void Started()
    {
        _started = true;
        Timers.StartSingleTimer(nameof(PlannerStable), PlannerStable.Instance, StableAfter);
        if (_standIn is not null)
        {
            // Back after giving up: a failure from now on is a new outage, with its own run of tries (and its own error at the end).
            _starts.Started();
            // After what was already sent to it: a PoisonPill queues behind, where a stop would drop them.
            _standIn.Tell(PoisonPill.Instance);
            _standIn = null;
        }
        Settle(null);
        Become(Running);
        Stash.UnstashAll();
    }

    /// <summary>The planner runs: messages go to it.</summary>
    private void Running()
    {
        Receive<PlannerStable>(_ => _starts.Started());
        // A planner restarted in place recovers and says so again: it runs on, nothing to do.
        Receive<PlannerStarted>(_ => { });
        CommonToLiveChild();
        ReceiveAny(m => _child!.Forward(m));
    }

    private void CommonToLiveChild()
    {
        // Every dead letter of the system comes here; only a request this supervisor forwarded is its business.
        Receive<DeadLetter>(d => { if (IsRescued(d)) Rescue(d); });
        Receive<PlannerStartFailed>(m => (_failure, _final) = (m.Reason, m.Final));
        // Terminated comes after the planner's last words (PlannerStartFailed): Akka queues it as an
        // ordinary message once the death-watch notification is handled.
        Receive<Terminated>(t => t.ActorRef.Equals(_child), _ => Failed());
        Receive<AwaitPlannerStart>(_ => Await());
    }

    /// <summary>No planner runs: messages wait for the next one (or the stand-in).</summary>
    private void Down()
    {
        // Every dead letter of the system comes here; only a request this supervisor forwarded is its business.
        Receive<DeadLetter>(d => { if (IsRescued(d)) Rescue(d); });
        Receive<RestartPlanner>(_ =>
        {
            StartPlanner();
            Become(Starting);
        });
        Receive<AwaitPlannerStart>(_ => Await());
        ReceiveAny(_ => Stash.Stash());
    }

    private void StartPlanner()
    {
        (_failure, _started, _crashLooped, _final) = (null, false, false, false);
        _child = Context.Watch(Context.ActorOf(_planner, "planner"));
    }

    private void Failed()
    {
        var reason = _failure ?? (_started ? "it stopped" : "it stopped while starting");
        (_child, _started) = (null, false);
        Timers.Cancel(nameof(PlannerStable));
        switch (_final ? _starts.Refused(reason) : _starts.Failed(reason, retryable: !_crashLooped))
        {
            case PlannerStartDecision.RetryAfter retry:
                _log.Warning(retry.Line);
                Timers.StartSingleTimer(nameof(RestartPlanner), RestartPlanner.Instance, retry.Backoff);
                Become(Down);
                break;
            case PlannerStartDecision.GiveUp giveUp:
                // The first give-up is the error; each later try that fails (one every start-again-after) only a warning.
                if (_final || _starts.FailedInARow == _starts.Attempts) _log.Error(giveUp.Why);
                else _log.Warning(giveUp.Why);
                _standIn?.Tell(PoisonPill.Instance);
                _standIn = Context.ActorOf(ReadOnlyPlannerActor.Props(_store, giveUp.Why), $"stand-in-{++_standIns}");
                if (giveUp.TryAgainAfter is { } after) Timers.StartSingleTimer(nameof(RestartPlanner), RestartPlanner.Instance, after);
                Settle(giveUp.Why);
                Become(GaveUp);
                Stash.UnstashAll();
                break;
        }
    }

    /// <summary>
    /// Given up: the stand-in answers, also while a later try runs (saves refused at once, loads from the
    /// disk, rather than held for the length of the try); a planner that has started takes over.
    /// </summary>
    private void GaveUp()
    {
        Receive<RestartPlanner>(_ => StartPlanner());
        Receive<PlannerStarted>(_ => Started());
        CommonToLiveChild();
        ReceiveAny(m => _standIn!.Forward(m));
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

    private sealed record PlannerStable
    {
        public static readonly PlannerStable Instance = new();
    }

    private sealed record RestartPlanner
    {
        public static readonly RestartPlanner Instance = new();
    }
}

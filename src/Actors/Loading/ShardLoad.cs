namespace ActorCkpt;

/// <summary>
/// One rank's load, as a state machine: each event in returns the
/// <see cref="ShardLoadDecision{TActor}"/>s to carry out, in order. The life of a load:
/// <list type="number">
/// <item><see cref="Start"/>: a lease is asked of the planner, which resolves the step and keeps it
/// from being deleted until the lease is released. The request is asked again every resend interval
/// until a planner answers (a planner stopping or starting takes no messages); a refusal, or no
/// answer by the deadline, fails the load.</item>
/// <item><see cref="Granted"/>: the granting planner is watched and the load runs.</item>
/// <item>That planner lost (<see cref="ActorLost"/>): the lease went with it, so it is renewed with
/// its successor, asked periodically until one answers (a new planner holds file removals for a
/// grace period after it starts, for this); a refused renewal only warns.</item>
/// <item><see cref="Completed"/>: the lease is released and the caller answered.</item>
/// <item><see cref="Cancelled"/> before the grant: the caller is answered at once.</item>
/// </list>
/// Every grant is one lease with the planner: the load keeps the first answer to the request in
/// force and hands every other grant straight back (a request asked more than once may be granted
/// more than once).
/// </summary>
/// <typeparam name="TActor">Who: a planner or the caller (an actor reference in the actor, a string in the specs).</typeparam>
internal sealed class ShardLoad<TActor> where TActor : class
{
    private static readonly ShardLoadDecision<TActor>[] Nothing = [];
    private readonly Func<TActor, string> _name;
    private bool _over;

    /// <summary>The load <paramref name="request"/>, asked by <paramref name="replyTo"/>; <paramref name="name"/> names an actor in warnings (its ToString when null).</summary>
    public ShardLoad(LoadShard request, TActor replyTo, Func<TActor, string>? name = null)
    {
        Request = request;
        ReplyTo = replyTo;
        _name = name ?? (a => a.ToString() ?? "");
    }

    /// <summary>The request.</summary>
    public LoadShard Request { get; }

    /// <summary>Who gets the outcome.</summary>
    public TActor ReplyTo { get; }

    /// <summary>The id of the lease request in force (a new one for each renewal).</summary>
    public Guid RequestId { get; private set; } = Guid.NewGuid();

    /// <summary>The step, once a lease resolved it.</summary>
    public long? Step { get; private set; }

    /// <summary>The planner holding the lease; null before the grant and while renewing.</summary>
    public TActor? Grantor { get; private set; }

    /// <summary>True from the grantor's loss until a planner answered the renewal.</summary>
    public bool Renewing { get; private set; }

    /// <summary>True while the request in force waits for its answer (asked again when <see cref="AskDue"/>).</summary>
    public bool Asking { get; private set; }

    /// <summary>The load begins: a lease is asked for, with a deadline, and asked again until answered.</summary>
    public IReadOnlyList<ShardLoadDecision<TActor>> Start()
    {
        Asking = true;
        return [new ShardLoadDecision<TActor>.AskLease(RequestId, Request.Step, Renew: false), new ShardLoadDecision<TActor>.StartLeaseDeadline(),
            new ShardLoadDecision<TActor>.AskPeriodically()];
    }

    /// <summary>
    /// <paramref name="from"/> granted a lease on <paramref name="step"/> to request <paramref name="requestId"/>,
    /// to read from <paramref name="tier"/> (a memory load: from <paramref name="holders"/>); why newer
    /// steps were <paramref name="passedOver"/> is logged.
    /// </summary>
    public IReadOnlyList<ShardLoadDecision<TActor>> Granted(Guid requestId, long step, string metadataChecksum, TActor from,
        StorageTier tier = StorageTier.Disk, IReadOnlyList<FileHolders>? holders = null, IReadOnlyList<string>? passedOver = null)
    {
        if (_over || requestId != RequestId || Grantor is not null) return [new ShardLoadDecision<TActor>.HandBack(step, from)];
        Grantor = from;
        Renewing = Asking = false;
        if (Step is { } renewed)
            return [new ShardLoadDecision<TActor>.StopAsking(), new ShardLoadDecision<TActor>.Watch(from),
                new ShardLoadDecision<TActor>.Warn($"the lease on step {renewed} renewed with {_name(from)}")];
        Step = step;
        return [new ShardLoadDecision<TActor>.StopAsking(), new ShardLoadDecision<TActor>.StopLeaseDeadline(), new ShardLoadDecision<TActor>.Watch(from),
            .. (passedOver ?? []).Select(p => new ShardLoadDecision<TActor>.Warn($"loading step {step} from {tier.ToString().ToLowerInvariant()}: passed over {p}")),
            new ShardLoadDecision<TActor>.Run(step, metadataChecksum, tier, holders)];
    }

    /// <summary>The planner refused request <paramref name="requestId"/>: the load fails, or a renewal only warns.</summary>
    public IReadOnlyList<ShardLoadDecision<TActor>> Refused(Guid requestId, string reason)
    {
        if (_over || requestId != RequestId || Grantor is not null || !Asking) return Nothing;
        Renewing = Asking = false;
        if (Step is { } step)
            return [new ShardLoadDecision<TActor>.StopAsking(),
                new ShardLoadDecision<TActor>.Warn($"the lease on step {step} could not be renewed ({reason}); its files may go before this load ends")];
        return Finish(new LoadShardFailure(new CheckpointNotFoundException(reason)));
    }

    /// <summary>No planner answered the lease request within <paramref name="waited"/>: the load fails.</summary>
    public IReadOnlyList<ShardLoadDecision<TActor>> LeaseDeadlinePassed(TimeSpan waited) =>
        _over || Step is not null ? Nothing : Finish(new LoadShardFailure(new ActorCkptException($"no planner answered the load request within {waited}")));

    /// <summary><paramref name="actor"/> stopped: when it holds the lease, the lease is renewed with its successor.</summary>
    public IReadOnlyList<ShardLoadDecision<TActor>> ActorLost(TActor actor)
    {
        if (_over || Step is not { } step || Grantor is null || !EqualityComparer<TActor>.Default.Equals(actor, Grantor)) return Nothing;
        RequestId = Guid.NewGuid();
        Grantor = null;
        Renewing = Asking = true;
        return [new ShardLoadDecision<TActor>.Warn($"the planner holding the lease on step {step} stopped; renewing it with its successor"),
            new ShardLoadDecision<TActor>.AskLease(RequestId, step, Renew: true), new ShardLoadDecision<TActor>.AskPeriodically()];
    }

    /// <summary>The resend interval passed while a request waits for its answer: it is asked again, with the same id.</summary>
    public IReadOnlyList<ShardLoadDecision<TActor>> AskDue() =>
        _over || !Asking ? Nothing : [new ShardLoadDecision<TActor>.AskLease(RequestId, Step ?? Request.Step, Renew: Step is not null)];

    /// <summary>
    /// The caller cancelled the load: before a lease resolved its step, it fails at once (a grant that
    /// comes later is handed back); once running, the loader itself stops between reads and completes.
    /// </summary>
    public IReadOnlyList<ShardLoadDecision<TActor>> Cancelled() =>
        _over || Step is not null ? Nothing : Finish(new LoadShardFailure(new OperationCanceledException(Request.Cancellation)));

    /// <summary>The load ran to its end with <paramref name="reply"/>; <paramref name="warnings"/> are logged.</summary>
    public IReadOnlyList<ShardLoadDecision<TActor>> Completed(object reply, IReadOnlyList<string> warnings) =>
        _over ? Nothing : [.. warnings.Select(w => new ShardLoadDecision<TActor>.Warn(w)), .. Finish(reply)];

    private List<ShardLoadDecision<TActor>> Finish(object reply)
    {
        _over = true;
        Asking = false;
        var decisions = new List<ShardLoadDecision<TActor>>();
        if (Grantor is not null) decisions.Add(new ShardLoadDecision<TActor>.Unwatch(Grantor));
        if (Step is { } step) decisions.Add(new ShardLoadDecision<TActor>.ReleaseLease(step));
        decisions.Add(new ShardLoadDecision<TActor>.Answer(ReplyTo, reply));
        decisions.Add(new ShardLoadDecision<TActor>.Finished());
        return decisions;
    }
}

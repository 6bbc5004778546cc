namespace ActorCkpt;

/// <summary>
/// What a <see cref="ShardLoad{TActor}"/> tells its shard actor to do, in the order it returns
/// them. A closed set: every case is nested here. <typeparamref name="TActor"/> names a planner or
/// the load's caller (an actor reference in the actor, a string in the specs). "The planner" is
/// the planner the rank always talks to (the singleton's proxy).
/// </summary>
/// <typeparam name="TActor">Who a decision is about.</typeparam>
internal abstract record ShardLoadDecision<TActor> where TActor : class
{
    private ShardLoadDecision() { }

    /// <summary>Ask the planner for a lease on <paramref name="Step"/>.</summary>
    /// <param name="RequestId">The request's id, echoed in the answer.</param>
    /// <param name="Step">The step; null for the newest committed one.</param>
    /// <param name="Renew">True when a load under way asks a planner that just started (see <see cref="AcquireLoadLease.Renew"/>).</param>
    public sealed record AskLease(Guid RequestId, long? Step, bool Renew) : ShardLoadDecision<TActor>;

    /// <summary>Start the deadline for the planner's answer (the plan timeout).</summary>
    public sealed record StartLeaseDeadline : ShardLoadDecision<TActor>;

    /// <summary>The planner answered: stop the deadline.</summary>
    public sealed record StopLeaseDeadline : ShardLoadDecision<TActor>;

    /// <summary>
    /// Ask for the lease again every resend interval (<see cref="ShardLoad{TActor}.AskDue"/>) until a
    /// planner answers: a planner stopping or restarting takes no messages meanwhile.
    /// </summary>
    public sealed record AskPeriodically : ShardLoadDecision<TActor>;

    /// <summary>A planner answered the request: stop asking.</summary>
    public sealed record StopAsking : ShardLoadDecision<TActor>;

    /// <summary>Watch the planner that granted the lease: its loss comes back as <see cref="ShardLoad{TActor}.ActorLost"/>.</summary>
    /// <param name="Actor">The planner.</param>
    public sealed record Watch(TActor Actor) : ShardLoadDecision<TActor>;

    /// <summary>Stop watching the planner that holds the lease.</summary>
    /// <param name="Actor">The planner.</param>
    public sealed record Unwatch(TActor Actor) : ShardLoadDecision<TActor>;

    /// <summary>Run the load of <paramref name="Step"/>, off the actor's thread; its end comes back as <see cref="ShardLoad{TActor}.Completed"/>.</summary>
    /// <param name="Step">The step the lease resolved.</param>
    /// <param name="MetadataChecksum">The catalog's checksum of the step's metadata.</param>
    /// <param name="Tier">Where the step is read from.</param>
    /// <param name="Holders">A memory load's holders of each data file, in try order.</param>
    public sealed record Run(long Step, string MetadataChecksum, StorageTier Tier = StorageTier.Disk, IReadOnlyList<FileHolders>? Holders = null) : ShardLoadDecision<TActor>;

    /// <summary>Hand a lease the load does not keep (granted to a request no longer waited for, or granted again) straight back to <paramref name="To"/>.</summary>
    /// <param name="Step">The step leased.</param>
    /// <param name="To">The planner that granted it.</param>
    public sealed record HandBack(long Step, TActor To) : ShardLoadDecision<TActor>;

    /// <summary>Release the lease on <paramref name="Step"/>: the load is over.</summary>
    /// <param name="Step">The step.</param>
    public sealed record ReleaseLease(long Step) : ShardLoadDecision<TActor>;

    /// <summary>Answer the load's caller.</summary>
    /// <param name="To">The caller.</param>
    /// <param name="Reply">A <see cref="LoadShardSuccess"/> or <see cref="LoadShardFailure"/>.</param>
    public sealed record Answer(TActor To, object Reply) : ShardLoadDecision<TActor>;

    /// <summary>Log a warning.</summary>
    /// <param name="Text">What happened.</param>
    public sealed record Warn(string Text) : ShardLoadDecision<TActor>;

    /// <summary>The load is over: stop its timers and take the next request.</summary>
    public sealed record Finished : ShardLoadDecision<TActor>;
}

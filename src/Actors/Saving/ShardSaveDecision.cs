namespace ActorCkpt;

/// <summary>
/// What a <see cref="ShardSave{TActor}"/> tells its shard actor to do, in the order it returns
/// them. A closed set: every case is nested here. <typeparamref name="TActor"/> names a planner or
/// a writer (an actor reference in the actor, a string in the specs). "The planner" without
/// more is the planner the rank always talks to (the singleton's proxy); a <c>Planner</c> field
/// is the one that accepted the plan, or null for the proxy when none has yet.
/// </summary>
/// <typeparam name="TActor">Who a decision is about.</typeparam>
internal abstract record ShardSaveDecision<TActor> where TActor : class
{
    private ShardSaveDecision() { }

    /// <summary>Send the local plan to the planner.</summary>
    public sealed record SendPlan : ShardSaveDecision<TActor>;

    /// <summary>Send the plan again every resend interval (a plan lost with a planner that died reaches its successor).</summary>
    public sealed record ResendPlanPeriodically : ShardSaveDecision<TActor>;

    /// <summary>A planner accepted the plan: stop resending it.</summary>
    public sealed record StopResendingPlan : ShardSaveDecision<TActor>;

    /// <summary>Start the deadline for the verdict (plan timeout plus write timeout): it guards against a planner that is gone.</summary>
    public sealed record StartVerdictDeadline : ShardSaveDecision<TActor>;

    /// <summary>
    /// The caller cancelled before any planner took the plan: start the grace (two plan resend
    /// intervals) after which the caller hears it cancelled unless a planner took it meanwhile.
    /// </summary>
    public sealed record StartCancelGrace : ShardSaveDecision<TActor>;

    /// <summary>Start the deadline after which writes still unanswered once the save is decided are abandoned (the write timeout).</summary>
    public sealed record StartAbandonDeadline : ShardSaveDecision<TActor>;

    /// <summary>Watch <paramref name="Actor"/>: its loss comes back as <see cref="ShardSave{TActor}.ActorLost"/>.</summary>
    /// <param name="Actor">The planner that accepted the plan, or a writer.</param>
    public sealed record Watch(TActor Actor) : ShardSaveDecision<TActor>;

    /// <summary>Hand the file of <paramref name="Assignment"/> to its writer, as attempt <paramref name="Attempt"/>.</summary>
    /// <param name="Assignment">The file and its current writer.</param>
    /// <param name="Attempt">1 for the first try; a writer's retry names its own.</param>
    public sealed record SendWrite(FileAssignment<TActor> Assignment, int Attempt) : ShardSaveDecision<TActor>;

    /// <summary>Ask <paramref name="Planner"/> for another writer of <paramref name="File"/>, whose writer <paramref name="LostWriter"/> is gone.</summary>
    /// <param name="File">The data file.</param>
    /// <param name="LostWriter">The writer that is gone.</param>
    /// <param name="Planner">The planner that accepted the plan; null for the proxy.</param>
    /// <param name="Replica">Which copy of the file.</param>
    public sealed record AskReassignment(string File, TActor LostWriter, TActor? Planner, int Replica = 0) : ShardSaveDecision<TActor>;

    /// <summary>
    /// Tell the planner (its successor, through the proxy) that the planner that took this rank's plan was lost,
    /// <paramref name="Why"/>: a round the other ranks' plans open there aborts naming it (<see cref="AbortSave.PlannerLost"/>).
    /// </summary>
    public sealed record TellPlannerLost(string Why) : ShardSaveDecision<TActor>;

    /// <summary>Ask <paramref name="Planner"/> to abort the save: its caller cancelled it.</summary>
    /// <param name="Planner">The planner that accepted the plan; null for the proxy.</param>
    public sealed record AskAbort(TActor? Planner) : ShardSaveDecision<TActor>;

    /// <summary>Report to the planner every write handed out: the files written and the ones that failed.</summary>
    /// <param name="SaveId">The attempt the writes belong to.</param>
    /// <param name="Results">Files written.</param>
    /// <param name="Failures">Files that failed for good, each "file: cause".</param>
    /// <param name="Copies">A memory round's copies on peers, as their holders acknowledged them; null for a disk save.</param>
    public sealed record Report(Guid SaveId, IReadOnlyList<FileWriteResult> Results, IReadOnlyList<string> Failures, IReadOnlyList<ReplicaAck>? Copies = null) : ShardSaveDecision<TActor>
    {
        /// <summary>Equal when the same attempt reports the same files, failures and copies, in order.</summary>
        public bool Equals(Report? other) =>
            other is not null && SaveId == other.SaveId && Results.SequenceEqual(other.Results) && Failures.SequenceEqual(other.Failures)
            && (Copies ?? []).SequenceEqual(other.Copies ?? []);

        /// <summary>A hash of the attempt and the counts.</summary>
        public override int GetHashCode() => HashCode.Combine(SaveId, Results.Count, Failures.Count);
    }

    /// <summary>
    /// Send the staged bytes of <paramref name="File"/> to the writer that asked: pushed over the bulk
    /// channel to <paramref name="Endpoint"/> with attempt <paramref name="Attempt"/>'s token of
    /// <paramref name="Grant"/> when both are given, otherwise offered as a StreamRef of chunks.
    /// </summary>
    /// <param name="File">The data file.</param>
    /// <param name="Endpoint">The writer node's bulk server, or null.</param>
    /// <param name="Grant">The planner's grant for the file, or null.</param>
    /// <param name="Attempt">The writer's attempt at the file.</param>
    public sealed record OpenStream(FileWritePlan File, string? Endpoint = null, TransferToken? Grant = null, int Attempt = 1) : ShardSaveDecision<TActor>;

    /// <summary>Tell the writer that asked for a stream why it gets none.</summary>
    /// <param name="Cause">Why.</param>
    public sealed record RefuseStream(string Cause) : ShardSaveDecision<TActor>;

    /// <summary>Tell the caller how many tensor bytes this rank's files hold.</summary>
    /// <param name="Bytes">The bytes.</param>
    public sealed record SetBytesToWrite(long Bytes) : ShardSaveDecision<TActor>;

    /// <summary>Tell the caller one more file is written.</summary>
    /// <param name="Bytes">The file's tensor bytes.</param>
    public sealed record AddBytesWritten(long Bytes) : ShardSaveDecision<TActor>;

    /// <summary>Give the staging buffers back to the pool: no write and no stream can read them any more.</summary>
    public sealed record ReleaseBuffers : ShardSaveDecision<TActor>;

    /// <summary>The save failed: the next one cannot know who writes what, so it stages everything.</summary>
    public sealed record ForgetReplicas : ShardSaveDecision<TActor>;

    /// <summary>
    /// The save committed: remember which of the rank's tensor items other ranks wrote, so the
    /// next save of the same plan need not stage them.
    /// </summary>
    /// <param name="Positions">Positions (ascending) of those items in the local plan.</param>
    public sealed record RememberWrittenElsewhere(int[] Positions) : ShardSaveDecision<TActor>
    {
        /// <summary>Equal when the positions are.</summary>
        public bool Equals(RememberWrittenElsewhere? other) => other is not null && Positions.SequenceEqual(other.Positions);

        /// <summary>A hash of the count.</summary>
        public override int GetHashCode() => Positions.Length;
    }

    /// <summary>Complete the caller's save as committed.</summary>
    /// <param name="Summary">What was written.</param>
    public sealed record CompleteCommitted(SaveSummary Summary) : ShardSaveDecision<TActor>;

    /// <summary>Complete the caller's save as failed.</summary>
    /// <param name="Reason">Why, naming the ranks or files at fault.</param>
    public sealed record CompleteFailed(string Reason) : ShardSaveDecision<TActor>;

    /// <summary>Complete the caller's save as cancelled (the abort its own cancellation asked for).</summary>
    /// <param name="SaveGoesOn">The save goes on after the caller heard it (the cancel's grace passed): the handle lingers until the save is over.</param>
    public sealed record CompleteCancelled(bool SaveGoesOn = false) : ShardSaveDecision<TActor>;

    /// <summary>Log a warning.</summary>
    /// <param name="Text">What happened.</param>
    public sealed record Warn(string Text) : ShardSaveDecision<TActor>;

    /// <summary>
    /// Writes or streams never finished although the save is decided: their buffers cannot be
    /// reused or freed safely while something might still read them, so they are left behind.
    /// </summary>
    /// <param name="Writes">Writes never answered.</param>
    /// <param name="Streams">Streams never closed.</param>
    public sealed record AbandonBuffers(int Writes, int Streams) : ShardSaveDecision<TActor>;

    /// <summary>The save is over: stop its timers and take the next request.</summary>
    public sealed record Finished : ShardSaveDecision<TActor>;
}

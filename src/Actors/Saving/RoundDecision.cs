namespace ActorCkpt;

/// <summary>
/// What <see cref="SaveRounds{TRef}"/> tells the planner actor to do, in the order it returns them.
/// The actor carries each out as it is (tell, journal, time, write) and feeds the outcome back as
/// the next event. A closed set: every case is nested here. <typeparamref name="TRef"/> names a
/// shard or a writer (an actor reference in the actor, a string in the specs).
/// </summary>
/// <typeparam name="TRef">Who a decision is about.</typeparam>
/// <param name="Step">The step of the round decided about.</param>
internal abstract record RoundDecision<TRef>(long Step)
{
    /// <summary>Tell <paramref name="Shard"/> its plan is received (<see cref="LocalPlanAccepted"/>).</summary>
    public sealed record AcceptPlan(long Step, TRef Shard) : RoundDecision<TRef>(Step);

    /// <summary>Tell <paramref name="Shard"/> its plan belongs to no live attempt (<see cref="CheckpointAborted"/>).</summary>
    public sealed record RefusePlan(long Step, TRef Shard, string Reason) : RoundDecision<TRef>(Step);

    /// <summary>Start (or restart) the round's one deadline timer.</summary>
    public sealed record StartDeadline(long Step, RoundDeadline Kind, TimeSpan After) : RoundDecision<TRef>(Step);

    /// <summary>Cancel the round's deadline timer.</summary>
    public sealed record CancelDeadline(long Step) : RoundDecision<TRef>(Step);

    /// <summary>
    /// Every plan is in and a writer is registered: check that the step may be written (not committed,
    /// not being deleted), then feed <see cref="SaveRounds{TRef}.Plan"/> the writers.
    /// </summary>
    public sealed record PlanWrites(long Step) : RoundDecision<TRef>(Step);

    /// <summary>
    /// Journal <see cref="SaveStarted"/> (with <paramref name="Tier"/>), then prepare the step's
    /// directory (a disk round only) and feed <see cref="SaveRounds{TRef}.Started"/> (or <see cref="SaveRounds{TRef}.Fail"/>).
    /// </summary>
    public sealed record RecordStart(long Step, Guid SaveId, int WorldSize, StorageTier Tier = StorageTier.Disk) : RoundDecision<TRef>(Step);

    /// <summary>
    /// Release committed memory step <paramref name="Victim"/> to make room (<see cref="ReplicasEvicted"/>
    /// journaled, its holders told to drop it): the budget chose it, for <paramref name="Reason"/>.
    /// </summary>
    public sealed record EvictMemory(long Step, long Victim, string Reason) : RoundDecision<TRef>(Step);

    /// <summary>
    /// Tell <paramref name="Shard"/> the files it must have written, each with its writer and which
    /// copy it is (<see cref="AssignWrites"/>), to <paramref name="Tier"/>.
    /// </summary>
    public sealed record AssignFiles(long Step, Guid SaveId, TRef Shard, IReadOnlyList<(FileWritePlan File, TRef Writer, int Replica)> Files, StorageTier Tier = StorageTier.Disk) : RoundDecision<TRef>(Step);

    /// <summary>Tell <paramref name="Shard"/> that <paramref name="File"/>, whose writer <paramref name="Lost"/> was lost, goes to <paramref name="Writer"/> now (<see cref="WriteReassigned"/>).</summary>
    public sealed record MoveFile(long Step, Guid SaveId, TRef Shard, FileWritePlan File, TRef Writer, string Lost) : RoundDecision<TRef>(Step);

    /// <summary>Every rank wrote its files: write the metadata, rename it into place, journal <see cref="SaveCommitted"/>, then feed <see cref="SaveRounds{TRef}.Committed"/>.</summary>
    public sealed record CommitStep(long Step, Guid SaveId, GlobalSavePlan Plan, IReadOnlyList<FileWriteResult> Results) : RoundDecision<TRef>(Step);

    /// <summary>
    /// Every copy of a memory round is acknowledged: write the memory metadata, journal
    /// <see cref="MemoryStepCommitted"/> with <paramref name="Copies"/>' holders, then feed
    /// <see cref="SaveRounds{TRef}.Committed"/>; when <paramref name="Persist"/>, persist the step to disk afterwards.
    /// </summary>
    public sealed record CommitMemoryStep(long Step, Guid SaveId, GlobalSavePlan Plan, IReadOnlyList<FileWriteResult> Results,
        IReadOnlyList<CopyAssignment<TRef>> Copies, bool Persist) : RoundDecision<TRef>(Step);

    /// <summary>
    /// Tell every rank of <paramref name="Shards"/> the save is aborted (<see cref="CheckpointAborted"/>);
    /// when <paramref name="Journal"/>, log it and journal <see cref="SaveAborted"/> (not when the journal is what failed).
    /// </summary>
    public sealed record AbortStep(long Step, Guid SaveId, string Reason, IReadOnlyList<TRef> Shards, bool Journal) : RoundDecision<TRef>(Step);

    /// <summary>Tell every rank of <paramref name="Shards"/> the step is committed with <paramref name="Summary"/> (<see cref="CheckpointCommitted"/>).</summary>
    public sealed record AnnounceCommit(long Step, IReadOnlyList<TRef> Shards, SaveSummary Summary) : RoundDecision<TRef>(Step);

    /// <summary>
    /// The aborted round is over: remove its files when <paramref name="RemoveDebris"/> (no writer can
    /// still touch them), then hand the plans of the next attempt that waited for it back in, each from its shard.
    /// </summary>
    /// <remarks>A memory round's debris is its copies on the holders: <paramref name="Files"/>, its attempt's files, whatever <paramref name="RemoveDebris"/> says.</remarks>
    public sealed record EndRound(long Step, bool RemoveDebris, IReadOnlyList<(SubmitLocalPlan Plan, TRef Shard)> Resubmit, StorageTier Tier = StorageTier.Disk,
        IReadOnlyList<string>? Files = null) : RoundDecision<TRef>(Step);

    /// <summary>Log <paramref name="Text"/> as a warning.</summary>
    public sealed record Warn(long Step, string Text) : RoundDecision<TRef>(Step);
}

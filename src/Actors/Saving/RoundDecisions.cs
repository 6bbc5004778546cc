namespace ActorCkpt;

/// <summary>
/// What a <see cref="SaveRounds{TRef}"/> asks the planner actor to do, in order. The actor carries
/// each out as it is (tell, persist, schedule, write) and feeds the outcome back as the next event.
/// The generic decisions name the actors involved (shards, writers) by a type parameter,
/// without knowing what they are.
/// </summary>
/// <param name="Step">The save's step.</param>
internal abstract record RoundDecision(long Step);

/// <summary>Which deadline of a round is running: the local plans', or the write reports'.</summary>
internal enum RoundDeadline
{
    /// <summary>Every rank's local plan (and a writer) are due.</summary>
    Plans,

    /// <summary>Every rank's write report is due.</summary>
    Writes,
}

/// <summary>Tell <paramref name="Shard"/> its plan is received (<see cref="LocalPlanAccepted"/>).</summary>
internal sealed record AcceptPlan<TRef>(long Step, TRef Shard) : RoundDecision(Step);

/// <summary>Tell <paramref name="Shard"/> its plan belongs to no live attempt (<see cref="CheckpointAborted"/>).</summary>
internal sealed record RefusePlan<TRef>(long Step, TRef Shard, string Reason) : RoundDecision(Step);

/// <summary>Start (or restart) the round's one deadline timer.</summary>
internal sealed record StartDeadline(long Step, RoundDeadline Kind, TimeSpan After) : RoundDecision(Step);

/// <summary>Cancel the round's deadline timer.</summary>
internal sealed record CancelDeadline(long Step) : RoundDecision(Step);

/// <summary>
/// Every plan is in and a writer is registered: check that the step may be written (not committed,
/// not being deleted), then feed <see cref="SaveRounds{TRef}.Plan"/> the writers.
/// </summary>
internal sealed record PlanWrites(long Step) : RoundDecision(Step);

/// <summary>Journal <see cref="SaveStarted"/>, then prepare the step's directory and feed <see cref="SaveRounds{TRef}.Started"/>.</summary>
internal sealed record RecordStart(long Step, Guid SaveId, int WorldSize) : RoundDecision(Step);

/// <summary>Tell <paramref name="Shard"/> the files it must have written, each with its writer (<see cref="AssignWrites"/>).</summary>
internal sealed record AssignFiles<TRef>(long Step, Guid SaveId, TRef Shard, IReadOnlyList<(FileWritePlan File, TRef Writer)> Files) : RoundDecision(Step);

/// <summary>Tell <paramref name="Shard"/> that <paramref name="File"/>, whose writer <paramref name="Lost"/> was lost, goes to <paramref name="Writer"/> now (<see cref="WriteReassigned"/>).</summary>
internal sealed record MoveFile<TRef>(long Step, Guid SaveId, TRef Shard, FileWritePlan File, TRef Writer, string Lost) : RoundDecision(Step);

/// <summary>Every rank wrote its files: write the metadata, rename it into place, journal <see cref="SaveCommitted"/>, then feed <see cref="SaveRounds{TRef}.Committed"/>.</summary>
internal sealed record CommitStep(long Step, Guid SaveId, GlobalSavePlan Plan, IReadOnlyList<FileWriteResult> Results) : RoundDecision(Step);

/// <summary>
/// Tell every rank of <paramref name="Shards"/> the save is aborted (<see cref="CheckpointAborted"/>);
/// when <paramref name="Journal"/>, log it and journal <see cref="SaveAborted"/> (not when the journal is what failed).
/// </summary>
internal sealed record AbortStep<TRef>(long Step, Guid SaveId, string Reason, IReadOnlyList<TRef> Shards, bool Journal) : RoundDecision(Step);

/// <summary>Tell every rank of <paramref name="Shards"/> the step is committed (after retention's deletions are journaled).</summary>
internal sealed record AnnounceCommit<TRef>(long Step, IReadOnlyList<TRef> Shards) : RoundDecision(Step);

/// <summary>
/// The aborted round is over: remove its files when <paramref name="RemoveDebris"/> (no writer can
/// still touch them), then hand the plans of the next attempt that waited for it back in, each from its shard.
/// </summary>
internal sealed record EndRound<TRef>(long Step, bool RemoveDebris, IReadOnlyList<(SubmitLocalPlan Plan, TRef Shard)> Resubmit) : RoundDecision(Step);

/// <summary>Log <paramref name="Text"/> as a warning.</summary>
internal sealed record WarnOf(long Step, string Text) : RoundDecision(Step);

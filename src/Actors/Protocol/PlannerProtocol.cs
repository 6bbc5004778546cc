using Akka.Actor;

namespace ActorCkpt;

/// <summary>
/// A writer pool offers its writers to the planner, all in one message, so that no round is planned
/// over the first of them alone; the planner watches each and forgets it when it stops.
/// </summary>
/// <param name="Writers">The writer actors.</param>
/// <param name="RootId">The id of the root they write to (<see cref="CheckpointStore.RootId"/>); a planner of another root refuses them. Null: not said (taken as the planner's).</param>
internal sealed record RegisterWriters(IActorRef[] Writers, string? RootId = null) : IActorCkptMessage;

/// <summary>The planner asks a node's writer pool for its writers (after the node joined, or after a handover).</summary>
internal sealed record ListWriters : IActorCkptMessage;

/// <summary>A writer pool's answer to <see cref="ListWriters"/>.</summary>
/// <param name="Writers">The pool's writers.</param>
/// <param name="RootId">The id of the root they write to, as in <see cref="RegisterWriters"/>.</param>
internal sealed record WritersListed(IReadOnlyList<IActorRef> Writers, string? RootId = null) : IActorCkptMessage;

/// <summary>The planner's answer to a pool whose writers write to another root than the planner's: they are not used.</summary>
/// <param name="Reason">Which roots, in words.</param>
internal sealed record WritersRefused(string Reason) : IActorCkptMessage;

/// <summary>The planner received a rank's plan; the shard watches the sender (the planner itself) from now on.</summary>
/// <param name="Step">The step.</param>
internal sealed record LocalPlanAccepted(long Step) : IActorCkptMessage;

/// <summary>A shard lost the writer of one of its files (its node left or died) and asks for another.</summary>
/// <param name="Step">The step being saved.</param>
/// <param name="SaveId">The attempt.</param>
/// <param name="File">The file whose writer is gone.</param>
/// <param name="LostWriter">The writer that is gone.</param>
/// <param name="Replica">Which copy of the file (memory rounds; 0 for a disk save's one copy).</param>
internal sealed record ReassignWrite(long Step, Guid SaveId, string File, IActorRef LostWriter, int Replica = 0) : IActorCkptMessage;

/// <summary>The planner's answer to <see cref="ReassignWrite"/>: write the file with this writer instead.</summary>
/// <param name="Step">The step being saved.</param>
/// <param name="SaveId">The attempt.</param>
/// <param name="Assignment">The file (its writer fields updated) and its new writer.</param>
internal sealed record WriteReassigned(long Step, Guid SaveId, WriteAssignment Assignment) : IActorCkptMessage;

/// <summary>A shard actor's local plan for step <paramref name="Step"/> (sizes and places, no bytes).</summary>
/// <param name="Step">The step being saved.</param>
/// <param name="Plan">The rank's items.</param>
/// <param name="Fingerprint">The plan's <see cref="SavePlanCache.Fingerprint"/>, computed by the rank so the planner can reuse an unchanged global plan.</param>
/// <param name="Tier">The tier the save asks for; every rank of a save must ask for the same one.</param>
/// <param name="Attempt">
/// This rank's save it belongs to: the shard re-sends the same submission until it is accepted, and a
/// copy that reaches the planner after the round it belonged to ended must not start another.
/// </param>
internal sealed record SubmitLocalPlan(long Step, LocalSavePlan Plan, ulong Fingerprint, SaveTier Tier = SaveTier.Policy, Guid Attempt = default) : IActorCkptMessage
{
    /// <summary>The submission of <paramref name="plan"/> for <paramref name="step"/>, with its fingerprint, as a new attempt.</summary>
    public static SubmitLocalPlan Of(long step, LocalSavePlan plan, SaveTier tier = SaveTier.Policy) => new(step, plan, SavePlanCache.Fingerprint(plan), tier, Guid.NewGuid());
}

/// <summary>
/// A rank's caller cancelled its save of <paramref name="Step"/>, or the rank could not stage its state
/// (<paramref name="Failure"/>): the planner aborts the save unless its commit has begun (then the
/// commit stands and every rank hears it). Sent by the shard actor after its plan, so the planner has
/// the plan first; a rank that could not stage sends none, and without this the others would wait
/// for it until the plan deadline.
/// </summary>
/// <param name="Step">The step being saved.</param>
/// <param name="Rank">The rank whose caller cancelled, or that could not stage.</param>
/// <param name="WorldSize">Ranks of the save, so a cancellation or failure before any plan arrived refuses the others' plans.</param>
/// <param name="PlanSent">
/// True when the rank had sent its plan (and re-sends it until answered): with no round to abort (a new
/// planner, which never had the plan), that plan is refused too when it comes, so its save ends cancelled.
/// </param>
/// <param name="Failure">Why the rank could not stage its state, or how its planner was lost; null for a cancellation.</param>
/// <param name="PlannerLost">
/// The planner that had taken this rank's plan was lost (<paramref name="Failure"/> says how): sent to its successor, which never had
/// the plan, so that a round the other ranks' plans open there aborts naming the loss rather than wait for this rank's plan.
/// </param>
internal sealed record AbortSave(long Step, int Rank, int WorldSize, bool PlanSent = false, string? Failure = null, bool PlannerLost = false) : IActorCkptMessage
{
    /// <summary>The reason every rank hears in <see cref="CheckpointAborted"/>; the cancelling rank knows its own abort by it.</summary>
    public string Reason => Failure is null ? $"rank {Rank} cancelled its save of step {Step}"
        : PlannerLost ? $"rank {Rank}'s save of step {Step} lost its planner: {Failure}"
        : $"rank {Rank} could not stage its state: {Failure}";

    /// <summary>True when <paramref name="reason"/> is the <see cref="Reason"/> of some rank's cancel of <paramref name="step"/>.</summary>
    public static bool IsCancellation(string reason, long step) =>
        reason.StartsWith("rank ", StringComparison.Ordinal) && reason.EndsWith($" cancelled its save of step {step}", StringComparison.Ordinal)
        && int.TryParse(reason.AsSpan(5, reason.Length - 5 - $" cancelled its save of step {step}".Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _);
}

/// <summary>One data file a rank must have written, and by which writer.</summary>
/// <param name="File">The file's plan.</param>
/// <param name="Writer">The writer to hand it to.</param>
/// <param name="Grant">
/// Issued by the planner for this file and writer: when the writer is on another node, each
/// attempt's bulk-channel token is derived from it (<see cref="TransferToken.ForAttempt"/>), and the
/// writer's node admits no other push for the file.
/// </param>
/// <param name="Replica">Which copy of the file this is (memory rounds): 0 on the rank's own host, 1 to R-1 on peers.</param>
internal sealed record WriteAssignment(FileWritePlan File, IActorRef Writer, TransferToken? Grant = null, int Replica = 0);

/// <summary>The planner's answer to a rank's plan: the files it must have written.</summary>
/// <param name="Step">The step being saved.</param>
/// <param name="SaveId">This attempt at the step; every message about its writes carries it.</param>
/// <param name="Files">This rank's files (possibly none, when replicas are written by others); in a memory round, every copy of each.</param>
/// <param name="Tier">Where the files go: the step directory, or the holders' memory.</param>
internal sealed record AssignWrites(long Step, Guid SaveId, IReadOnlyList<WriteAssignment> Files, StorageTier Tier = StorageTier.Disk) : IActorCkptMessage;

/// <summary>A rank's report once every write it handed out has finished, one way or the other.</summary>
/// <param name="Step">The step being saved.</param>
/// <param name="SaveId">The attempt (from <see cref="AssignWrites"/>).</param>
/// <param name="Rank">The rank.</param>
/// <param name="Results">Files written and fsynced.</param>
/// <param name="Failures">Files whose writes failed for good, each "file: cause".</param>
/// <param name="Copies">In a memory round, the copies on peers that their holders acknowledged (the own host's are <paramref name="Results"/>).</param>
internal sealed record ReportWrites(long Step, Guid SaveId, int Rank, IReadOnlyList<FileWriteResult> Results, IReadOnlyList<string> Failures, IReadOnlyList<ReplicaAck>? Copies = null) : IActorCkptMessage;

/// <summary>A holder acknowledged its copy of a data file in a memory round.</summary>
/// <param name="File">The data file.</param>
/// <param name="Replica">Which copy (1 to R-1).</param>
/// <param name="Result">What the holder wrote: it must equal the primary's result.</param>
internal sealed record ReplicaAck(string File, int Replica, FileWriteResult Result);

/// <summary>
/// Step <paramref name="Step"/> is committed: its metadata is durable, the tracker moved, and the
/// deletions of older steps that retention decided on are journaled.
/// </summary>
/// <param name="Step">The step.</param>
/// <param name="Summary">What was written.</param>
internal sealed record CheckpointCommitted(long Step, SaveSummary Summary) : IActorCkptMessage;

/// <summary>The save of step <paramref name="Step"/> is abandoned; no metadata was written.</summary>
/// <param name="Step">The step.</param>
/// <param name="Reason">Why, naming the ranks or files at fault.</param>
internal sealed record CheckpointAborted(long Step, string Reason) : IActorCkptMessage;

/// <summary>The planner's timer: the local plans or the write reports of step <paramref name="Step"/> are due.</summary>
/// <param name="Step">The step.</param>
/// <param name="Kind">Which deadline.</param>
internal sealed record RoundDeadlinePassed(long Step, RoundDeadline Kind);

/// <summary>
/// A rank is about to load step <paramref name="Step"/> (the newest committed when null): the
/// planner resolves the step and keeps it from being deleted until <see cref="ReleaseLoadLease"/>
/// or until the asker stops. Answered with <see cref="LoadLeaseGranted"/> or <see cref="LoadLeaseRefused"/>.
/// A rank asks again, with the same id, until it has an answer; each grant is one lease, and the
/// rank hands back (<see cref="ReleaseLoadLease"/>) every grant it does not keep.
/// </summary>
/// <param name="RequestId">Echoed in the answer, so a late or repeated answer is recognised.</param>
/// <param name="Step">The step, or null for the newest committed one.</param>
/// <param name="Renew">
/// True when a load already under way asks a planner that just started (its previous planner
/// stopped, and its leases with it): granted even for a step deleted meanwhile, as long as its
/// files are still there.
/// </param>
/// <param name="Only">A tier the load is limited to; null: the newest loadable step from either.</param>
/// <param name="Host">The asking rank's host (memory tier), whose copies it reads first; null when it has none.</param>
internal sealed record AcquireLoadLease(Guid RequestId, long? Step, bool Renew = false, StorageTier? Only = null, string? Host = null) : IActorCkptMessage;

/// <summary>The step may be loaded; it will not be deleted before the lease is released.</summary>
/// <param name="RequestId">The request answered.</param>
/// <param name="Step">The step resolved.</param>
/// <param name="MetadataChecksum">The catalog's checksum of its metadata, to check the document read against.</param>
/// <param name="Tier">Where to read the step: the root, or the memory tier's holders.</param>
/// <param name="Holders">A memory load's holders of every data file, in the order to try them.</param>
/// <param name="PassedOver">Why newer steps (or this step's memory copy) were not taken, one line each; null when none was.</param>
internal sealed record LoadLeaseGranted(Guid RequestId, long Step, string MetadataChecksum, StorageTier Tier = StorageTier.Disk,
    FileHolders[]? Holders = null, string[]? PassedOver = null) : IActorCkptMessage;

/// <summary>The holders of one data file of a memory step, in the order a load tries them.</summary>
/// <param name="File">The data file.</param>
/// <param name="Nodes">Its live holders.</param>
internal sealed record FileHolders(string File, HolderNode[] Nodes);

/// <summary>A host holding a copy, and the node (Akka address) whose reader serves it.</summary>
/// <param name="Host">The host (failure domain).</param>
/// <param name="Address">A live node of that host.</param>
internal sealed record HolderNode(string Host, string Address);

/// <summary>
/// A rank found a memory copy bad (its checksum failed, or the file was gone from its holder) and read
/// another holder's: the planner journals that copy lost and has its host drop what is left of it.
/// </summary>
/// <param name="Step">The memory step.</param>
/// <param name="File">The data file.</param>
/// <param name="Host">The host whose copy was refused.</param>
/// <param name="Cause">Why.</param>
internal sealed record ReplicaRefused(long Step, string File, string Host, string Cause) : IActorCkptMessage;

/// <summary>The step cannot be loaded.</summary>
/// <param name="RequestId">The request answered.</param>
/// <param name="Reason">Why: not committed, deleted, or no checkpoint at all.</param>
internal sealed record LoadLeaseRefused(Guid RequestId, string Reason) : IActorCkptMessage;

/// <summary>The load of <paramref name="Step"/> is over; the step may be deleted again.</summary>
/// <param name="Step">The step.</param>
internal sealed record ReleaseLoadLease(long Step) : IActorCkptMessage;

/// <summary>Remove debris and apply retention now; answered with <see cref="GarbageCollected"/>.</summary>
/// <param name="KeepLast">For this collection only, keep no more than the newest this many committed steps (keep-every still kept); null: retention's own policy.</param>
internal sealed record CollectGarbage(int? KeepLast = null) : IActorCkptMessage;

/// <summary>What <see cref="CollectGarbage"/> removed; sent once the deleted steps' files are gone (after any load of them).</summary>
/// <param name="DebrisRemoved">Steps whose uncommitted directories were removed.</param>
/// <param name="Deleted">Committed steps deleted by retention.</param>
/// <param name="Failures">Deleted steps whose files could not be removed, each "step S: cause".</param>
internal sealed record GarbageCollected(IReadOnlyList<long> DebrisRemoved, IReadOnlyList<long> Deleted, IReadOnlyList<string> Failures) : IActorCkptMessage;

/// <summary>
/// Asks for an answer (<see cref="PersistsIdle"/>) once no memory step is being written to disk in the
/// background: each persist under way or about to start has committed on disk (and been journaled), or
/// was given up (logged; its step stays in memory only). A job that must not lose its disk step (a
/// drill that kills nodes next, a run about to end) waits on it.
/// </summary>
internal sealed record AwaitPersists : IActorCkptMessage
{
    /// <summary>The one instance.</summary>
    public static AwaitPersists Instance { get; } = new();
}

/// <summary>The answer to <see cref="AwaitPersists"/>: no persist is under way.</summary>
internal sealed record PersistsIdle : IActorCkptMessage
{
    /// <summary>The one instance.</summary>
    public static PersistsIdle Instance { get; } = new();
}

/// <summary>
/// Asks which step a load of the newest step would read now, without leasing it; answered with
/// <see cref="LatestStepResolved"/>. The planner decides as it does for an <see cref="AcquireLoadLease"/>
/// without a step (the memory tier's holders live or not, a step whose disk copy is gone read from the
/// object tier), so that a job that asks for the newest step and then loads it by number gets the
/// step a load of the newest would have read.
/// </summary>
/// <param name="Host">The asking node's host (memory tier); null when it has none.</param>
internal sealed record ResolveLatestStep(string? Host = null) : IActorCkptMessage;

/// <summary>What <see cref="ResolveLatestStep"/> found.</summary>
/// <param name="Step">
/// The step a load of the newest would read; when no committed step can be loaded, the newest committed
/// one (its load then says why, where an older step would pass for the newest); null when none is committed.
/// </param>
/// <param name="FromCatalog">
/// False when the planner has no catalog to go by (a stand-in planner, or a catalog with no entry):
/// the root's directories tell then.
/// </param>
internal sealed record LatestStepResolved(long? Step, bool FromCatalog) : IActorCkptMessage;

/// <summary>Asks for the catalog; answered with <see cref="CatalogRead"/>.</summary>
internal sealed record ReadCatalog : IActorCkptMessage;

/// <summary>The catalog: every step a save began, and where it stands.</summary>
/// <param name="Entries">Oldest step first.</param>
internal sealed record CatalogRead(IReadOnlyList<CatalogEntry> Entries) : IActorCkptMessage;

/// <summary>
/// One rank's vote in round <paramref name="Round"/> of "is every rank's save queue empty?";
/// answered with <see cref="QueueEmptyAgreed"/> once all <paramref name="WorldSize"/> ranks voted.
/// </summary>
/// <param name="Round">The rank's question number (1, 2, ...): ranks ask in the same order.</param>
/// <param name="Rank">The rank.</param>
/// <param name="WorldSize">Ranks that take part.</param>
/// <param name="LocallyEmpty">True when this rank has no save in flight.</param>
internal sealed record AgreeQueueEmpty(long Round, int Rank, int WorldSize, bool LocallyEmpty) : IActorCkptMessage;

/// <summary>The same answer to every rank of a round: true only if no rank had a save in flight.</summary>
/// <param name="Round">The round.</param>
/// <param name="Empty">The answer.</param>
internal sealed record QueueEmptyAgreed(long Round, bool Empty) : IActorCkptMessage;

/// <summary>
/// Rank <paramref name="Rank"/> gave up waiting for round <paramref name="Round"/> (its ask timed out):
/// its vote is taken back, so that its next question is that round again and the ranks stay in step.
/// Answered with <see cref="QueueVoteWithdrawn"/>, or with <see cref="QueueEmptyAgreed"/> when the
/// round had completed meanwhile (the answer then stands).
/// </summary>
/// <param name="Round">The round.</param>
/// <param name="Rank">The rank.</param>
internal sealed record WithdrawQueueVote(long Round, int Rank) : IActorCkptMessage;

/// <summary>A vote not counted: it gave another world size than the round's first vote (the caller's mistake, named in <paramref name="Reason"/>).</summary>
/// <param name="Round">The round.</param>
/// <param name="Reason">Which ranks gave which world sizes.</param>
internal sealed record QueueQuestionRefused(long Round, string Reason) : IActorCkptMessage;

/// <summary>The vote is taken back; <paramref name="Missing"/> are the ranks that had not voted in the round.</summary>
/// <param name="Round">The round.</param>
/// <param name="Missing">Ranks without a vote, ascending.</param>
internal sealed record QueueVoteWithdrawn(long Round, int[] Missing) : IActorCkptMessage;

/// <summary>The planner's timer: hosts recorded as holders that have not announced themselves since its start are lost now.</summary>
internal sealed record LostAfterPassed;

/// <summary>The planner's timer: the grace after its start is over, files of deleted steps may go.</summary>
internal sealed record RemovalGraceEnded;

/// <summary>The planner's background deletion of a step's files ended.</summary>
/// <param name="Step">The step.</param>
/// <param name="Error">Why it failed, or null.</param>
internal sealed record DeletionFinished(long Step, string? Error);

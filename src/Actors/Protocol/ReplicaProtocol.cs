using Akka.Actor;

namespace ActorCkpt;

/// <summary>
/// A host's replica holder announces itself and what it holds: sent by the
/// <see cref="ReplicaHolderActor"/> to the planner once it has scanned its store at start, and as its
/// answer to <see cref="ListHeldReplicas"/>. The planner watches <paramref name="Holder"/>; the host is
/// live while one of its holders is.
/// </summary>
/// <param name="Host">The host id (<c>actorckpt.tiers.memory.host</c>): the failure domain whose tmpfs holds the replicas.</param>
/// <param name="Holder">The holder actor.</param>
/// <param name="BudgetBytes">The host's memory budget, in bytes (a size, or a share of the tmpfs size).</param>
/// <param name="Held">Every readable replica in the host's store, by step then data file.</param>
/// <remarks>A wire message: from a holder to the planner on another node.</remarks>
internal sealed record RegisterHolder(string Host, IActorRef Holder, long BudgetBytes, HeldReplica[] Held) : IActorCkptMessage;

/// <summary>
/// A host's replica holder has started and is scanning its store: sent by the <see cref="ReplicaHolderActor"/>
/// to the planner before the scan, and as its answer to <see cref="ListHeldReplicas"/> until the scan is
/// done (then <see cref="RegisterHolder"/> follows). The planner watches <paramref name="Holder"/> and, while
/// it lives, neither marks the host lost for its silence nor resolves loads without it: a scan (with
/// <c>verify-on-start = full</c>, or on a loaded machine) can outlast <c>lost-after</c>.
/// </summary>
/// <param name="Host">The host id (<c>actorckpt.tiers.memory.host</c>).</param>
/// <param name="Holder">The holder actor.</param>
/// <remarks>A wire message: from a holder to the planner on another node.</remarks>
internal sealed record HolderScanning(string Host, IActorRef Holder) : IActorCkptMessage;

/// <summary>
/// A holder's start-up scan failed: it announces nothing (a later <see cref="ListHeldReplicas"/> scans
/// again), so the planner stops waiting on it and its host is silent again, lost once <c>lost-after</c> has passed.
/// </summary>
/// <param name="Host">The host id.</param>
/// <param name="Holder">The holder actor.</param>
/// <param name="Cause">Why, one line.</param>
/// <remarks>A wire message: from a holder to the planner on another node.</remarks>
internal sealed record HolderScanFailed(string Host, IActorRef Holder, string Cause) : IActorCkptMessage;

/// <summary>The planner asks a holder for its inventory; answered with a fresh <see cref="RegisterHolder"/> (<see cref="HolderScanning"/> while the holder's start-up scan runs).</summary>
/// <remarks>A wire message: from the planner to a holder on another node.</remarks>
internal sealed record ListHeldReplicas : IActorCkptMessage;

/// <summary>
/// Delete replicas of step <paramref name="Step"/> from the holder's host: those of
/// <paramref name="Files"/>, or every one of the step when null. Answered with
/// <see cref="ReplicasDropped"/>, or <see cref="DropReplicasFailure"/>.
/// </summary>
/// <param name="Step">The step.</param>
/// <param name="Files">The data files whose replicas go; null: the whole step.</param>
/// <param name="Reason">Why, for the holder's log (evicted, lost, debris...).</param>
/// <param name="Recycle">
/// An eviction of sound copies: with <c>tiers.memory.recycle-for</c> above zero the holder keeps the
/// files as spares for the host's next replicas (<see cref="ReplicaStore.Recycle"/>) rather than deleting them.
/// </param>
/// <remarks>A wire message: from the planner to a holder on another node.</remarks>
internal sealed record DropReplicas(long Step, string[]? Files, string Reason, bool Recycle = false) : IActorCkptMessage;

/// <summary>The replicas of a <see cref="DropReplicas"/> are gone.</summary>
/// <param name="Host">The holder's host.</param>
/// <param name="Step">The step.</param>
/// <param name="FreedBytes">Bytes of the files deleted.</param>
/// <remarks>A wire message: the answer to <see cref="DropReplicas"/>, from another node.</remarks>
internal sealed record ReplicasDropped(string Host, long Step, long FreedBytes) : IActorCkptMessage;

/// <summary>The replicas of a <see cref="DropReplicas"/> could not all be deleted.</summary>
/// <param name="Host">The holder's host.</param>
/// <param name="Step">The step.</param>
/// <param name="Cause">Why, naming the file.</param>
/// <remarks>A wire message: the answer to <see cref="DropReplicas"/>, from another node.</remarks>
internal sealed record DropReplicasFailure(string Host, long Step, string Cause) : IActorCkptMessage;

/// <summary>Asks a holder how much memory its host's replicas take; answered with <see cref="ReplicaUsageReported"/> or <see cref="ReportReplicaUsageFailure"/>.</summary>
/// <remarks>A wire message: from the planner, a test or the tool to a holder on another node.</remarks>
internal sealed record ReportReplicaUsage : IActorCkptMessage;

/// <summary>How much memory a host's replica store takes (<see cref="ReplicaUsage"/>).</summary>
/// <param name="Host">The holder's host.</param>
/// <param name="FileBytes">Bytes of every file in the host's step directories.</param>
/// <param name="TmpfsUsed">Bytes in use on the file system holding it, all users included.</param>
/// <param name="TmpfsSize">Size of that file system.</param>
/// <param name="SpareBytes">Bytes of the host's spare files (evicted replicas waiting to be overwritten).</param>
/// <remarks>A wire message: the answer to <see cref="ReportReplicaUsage"/>, from another node.</remarks>
internal sealed record ReplicaUsageReported(string Host, long FileBytes, long TmpfsUsed, long TmpfsSize, long SpareBytes = 0) : IActorCkptMessage;

/// <summary>The holder could not measure its store.</summary>
/// <param name="Host">The holder's host.</param>
/// <param name="Cause">Why.</param>
/// <remarks>A wire message: the answer to <see cref="ReportReplicaUsage"/>, from another node.</remarks>
internal sealed record ReportReplicaUsageFailure(string Host, string Cause) : IActorCkptMessage;

/// <summary>
/// A holder's note to itself: its start-up scan of the store is done (debris removed, replicas listed
/// and, with <c>verify-on-start = full</c>, verified), and <paramref name="Register"/> is its announcement.
/// </summary>
/// <param name="Register">What goes to the planner.</param>
/// <param name="Debris">Temporary files of dead writers removed.</param>
/// <param name="Unreadable">One line per replica name that is not a readable replica (left in place).</param>
/// <param name="Corrupt">One line per replica that failed verification (dropped).</param>
/// <remarks>Not a wire message: a holder sends it to itself.</remarks>
internal sealed record HolderScanned(RegisterHolder Register, int Debris, string[] Unreadable, string[] Corrupt);

/// <summary>
/// The planner asks the holder of a host to make a copy of data file <paramref name="File"/> of memory
/// step <paramref name="Step"/> from the copy <paramref name="Source"/> (another host's holder) holds:
/// re-replication after a host was lost. Answered with <see cref="ReplicaCopied"/> or <see cref="ReplicaCopyFailure"/>.
/// </summary>
/// <param name="Step">The step.</param>
/// <param name="File">The data file.</param>
/// <param name="Source">The holder of a sound copy; its node's reader serves the bytes over the bulk channel.</param>
/// <remarks>A wire message: from the planner to a holder on another node.</remarks>
internal sealed record CopyReplica(long Step, string File, IActorRef Source) : IActorCkptMessage;

/// <summary>The copy a <see cref="CopyReplica"/> asked for is whole and published on the holder's host.</summary>
/// <param name="Step">The step.</param>
/// <param name="File">The data file.</param>
/// <param name="Host">The host now holding the copy.</param>
/// <param name="FileBytes">Bytes of the replica file (what the budget counts).</param>
/// <remarks>A wire message: the answer to <see cref="CopyReplica"/>, from another node.</remarks>
internal sealed record ReplicaCopied(long Step, string File, string Host, long FileBytes) : IActorCkptMessage;

/// <summary>The copy a <see cref="CopyReplica"/> asked for could not be made; nothing of it is left.</summary>
/// <param name="Step">The step.</param>
/// <param name="File">The data file.</param>
/// <param name="Host">The host that was to hold it.</param>
/// <param name="Cause">Why, naming the file.</param>
/// <remarks>A wire message: the answer to <see cref="CopyReplica"/>, from another node.</remarks>
internal sealed record ReplicaCopyFailure(long Step, string File, string Host, string Cause) : IActorCkptMessage;

/// <summary>
/// A holder making a copy asks the source holder for the header of its replica of <paramref name="File"/>
/// of step <paramref name="Step"/> (what the copy must hold, with its checksums). Answered with
/// <see cref="ReplicaHeaderRead"/> or <see cref="ReadReplicaHeaderFailure"/>.
/// </summary>
/// <param name="Step">The step.</param>
/// <param name="File">The data file.</param>
/// <remarks>A wire message: between holders on two nodes.</remarks>
internal sealed record ReadReplicaHeader(long Step, string File) : IActorCkptMessage;

/// <summary>The header of the replica a <see cref="ReadReplicaHeader"/> named, checked as it was read.</summary>
/// <param name="Header">The header.</param>
/// <remarks>A wire message: the answer to <see cref="ReadReplicaHeader"/>, from another node.</remarks>
internal sealed record ReplicaHeaderRead(ReplicaHeader Header) : IActorCkptMessage;

/// <summary>The replica a <see cref="ReadReplicaHeader"/> named is not there or not readable.</summary>
/// <param name="Cause">Why, naming the host and the file.</param>
/// <remarks>A wire message: the answer to <see cref="ReadReplicaHeader"/>, from another node.</remarks>
internal sealed record ReadReplicaHeaderFailure(string Cause) : IActorCkptMessage;

/// <summary>A holder's note to itself: spare files that have waited <c>tiers.memory.recycle-for</c> unclaimed are due to go.</summary>
/// <remarks>Not a wire message: a holder schedules it to itself.</remarks>
internal sealed record ReleaseSpares
{
    /// <summary>The one instance.</summary>
    public static ReleaseSpares Instance { get; } = new();
}

/// <summary>A holder's note to itself: file work done off its thread, whose answer goes to <paramref name="To"/>.</summary>
/// <param name="To">Who asked.</param>
/// <param name="Message">The answer, or null when there is none to give.</param>
/// <param name="Problem">What went wrong, for the log; null when nothing did.</param>
/// <remarks>Not a wire message: a holder sends it to itself.</remarks>
internal sealed record HolderAnswer(IActorRef To, object? Message, string? Problem = null);

/// <summary>
/// The planner asks a holder to write its copy of a memory step's data file to the step's directory
/// on disk (a background persist). Answered with <see cref="PersistReplicaSuccess"/> or <see cref="PersistReplicaFailure"/>.
/// </summary>
/// <param name="Step">The memory step.</param>
/// <param name="SaveId">Its attempt.</param>
/// <param name="Plan">The data file's plan, as it was written.</param>
/// <param name="Expected">What the copy recorded: the disk file must come out the same, which proves the copy.</param>
internal sealed record PersistReplica(long Step, Guid SaveId, FileWritePlan Plan, FileWriteResult Expected) : IActorCkptMessage;

/// <summary>The holder wrote the file to disk, equal to what its copy recorded, and fsynced it.</summary>
/// <param name="Step">The step.</param>
/// <param name="File">The data file.</param>
/// <param name="Host">The holder's host.</param>
internal sealed record PersistReplicaSuccess(long Step, string File, string Host) : IActorCkptMessage;

/// <summary>The holder could not write the file to disk (nothing of it is left there).</summary>
/// <param name="Step">The step.</param>
/// <param name="File">The data file.</param>
/// <param name="Host">The holder's host.</param>
/// <param name="Cause">Why.</param>
/// <param name="Corrupt">True when its copy did not give what was recorded (the copy is bad), false for any other failure.</param>
internal sealed record PersistReplicaFailure(long Step, string File, string Host, string Cause, bool Corrupt) : IActorCkptMessage;

/// <summary>The planner's timer: the background persist of <paramref name="Step"/> is out of time.</summary>
/// <param name="Step">The step.</param>
internal sealed record PersistTimedOut(long Step);

/// <summary>Asks the planner which hosts have a live holder; answered with <see cref="HoldersListed"/> (for drivers and tests).</summary>
internal sealed record ListHolders : IActorCkptMessage;

/// <summary>The hosts with a live replica holder, in ordinal order.</summary>
/// <param name="Hosts">The hosts.</param>
internal sealed record HoldersListed(string[] Hosts) : IActorCkptMessage;

using Akka.Actor;
using ActorCkpt.Planner;

namespace ActorCkpt.Actors;

/// <summary>A writer offers itself to the planner; the planner watches it and forgets it when it stops.</summary>
/// <param name="Writer">The writer actor.</param>
public sealed record RegisterWriter(IActorRef Writer) : IActorCkptMessage;

/// <summary>A shard actor's local plan for step <paramref name="Step"/> (sizes and places, no bytes).</summary>
/// <param name="Step">The step being saved.</param>
/// <param name="Plan">The rank's items.</param>
public sealed record SubmitLocalPlan(long Step, LocalSavePlan Plan) : IActorCkptMessage;

/// <summary>One data file a rank must have written, and by which writer.</summary>
/// <param name="File">The file's plan.</param>
/// <param name="Writer">The writer to hand it to.</param>
public sealed record WriteAssignment(FileWritePlan File, IActorRef Writer);

/// <summary>The planner's answer to a rank's plan: the files it must have written.</summary>
/// <param name="Step">The step being saved.</param>
/// <param name="SaveId">This attempt at the step; every message about its writes carries it.</param>
/// <param name="Files">This rank's files (possibly none, when replicas are written by others).</param>
public sealed record AssignWrites(long Step, Guid SaveId, IReadOnlyList<WriteAssignment> Files) : IActorCkptMessage;

/// <summary>A rank's report once every write it handed out has finished, one way or the other.</summary>
/// <param name="Step">The step being saved.</param>
/// <param name="SaveId">The attempt (from <see cref="AssignWrites"/>).</param>
/// <param name="Rank">The rank.</param>
/// <param name="Results">Files written and fsynced.</param>
/// <param name="Failures">Files whose writes failed for good, each "file: cause".</param>
public sealed record ReportWrites(long Step, Guid SaveId, int Rank, IReadOnlyList<FileWriteResult> Results, IReadOnlyList<string> Failures) : IActorCkptMessage;

/// <summary>Step <paramref name="Step"/> is committed: its metadata is durable and the tracker moved.</summary>
/// <param name="Step">The step.</param>
/// <param name="Summary">What was written.</param>
public sealed record CheckpointCommitted(long Step, SaveSummary Summary) : IActorCkptMessage;

/// <summary>The save of step <paramref name="Step"/> is abandoned; no metadata was written.</summary>
/// <param name="Step">The step.</param>
/// <param name="Reason">Why, naming the ranks or files at fault.</param>
public sealed record CheckpointAborted(long Step, string Reason) : IActorCkptMessage;

/// <summary>The planner's timer: the local plans of step <paramref name="Step"/> are due.</summary>
/// <param name="Step">The step.</param>
internal sealed record PlanDeadlinePassed(long Step);

/// <summary>The planner's timer: the write reports of step <paramref name="Step"/> are due.</summary>
/// <param name="Step">The step.</param>
internal sealed record WriteDeadlinePassed(long Step);

/// <summary>A planner (re)started: writer pools register their writers with it again.</summary>
/// <param name="Planner">The planner.</param>
internal sealed record PlannerStarted(IActorRef Planner);

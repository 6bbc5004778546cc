using Akka.Actor;
using Decision = ActorCkpt.RoundDecision<Akka.Actor.IActorRef>;

namespace ActorCkpt;

/// <summary>The messages (of PlannerProtocol.cs) that a save round's decisions send to its ranks, and to whom.</summary>
internal static class RoundMessages
{
    /// <summary>What <paramref name="decision"/> tells, to whom; nothing for a decision that tells no rank.</summary>
    public static IEnumerable<(IActorRef To, object Message)> Of(Decision decision) => decision switch
    {
        Decision.AcceptPlan a => new[] { (a.Shard, (object)new LocalPlanAccepted(a.Step)) },
        Decision.RefusePlan r => new[] { (r.Shard, (object)new CheckpointAborted(r.Step, r.Reason)) },
        Decision.AssignFiles a => new[] { (a.Shard, (object)new AssignWrites(a.Step, a.SaveId, a.Files.Select(f => new WriteAssignment(f.File, f.Writer, TransferToken.New(), f.Replica)).ToArray(), a.Tier)) },
        Decision.MoveFile m => new[] { (m.Shard, (object)new WriteReassigned(m.Step, m.SaveId, new WriteAssignment(m.File, m.Writer, TransferToken.New()))) },
        Decision.AbortStep a => a.Shards.Select(s => (s, (object)new CheckpointAborted(a.Step, a.Reason))),
        Decision.AnnounceCommit a => a.Shards.Select(s => (s, (object)new CheckpointCommitted(a.Step, a.Summary))),
        _ => Array.Empty<(IActorRef, object)>(),
    };
}

using Akka.Actor;

namespace ActorCkpt;

/// <summary>The messages (of PlannerProtocol.cs) that a save round's decisions send to its ranks, and to whom.</summary>
internal static class RoundMessages
{
    /// <summary>What <paramref name="decision"/> tells, to whom; nothing for a decision that tells no rank.</summary>
    public static IEnumerable<(IActorRef To, object Message)> Of(RoundDecision decision) => decision switch
    {
        AcceptPlan<IActorRef> a => new[] { (a.Shard, (object)new LocalPlanAccepted(a.Step)) },
        RefusePlan<IActorRef> r => new[] { (r.Shard, (object)new CheckpointAborted(r.Step, r.Reason)) },
        AssignFiles<IActorRef> a => new[] { (a.Shard, (object)new AssignWrites(a.Step, a.SaveId, a.Files.Select(f => new WriteAssignment(f.File, f.Writer)).ToArray())) },
        MoveFile<IActorRef> m => new[] { (m.Shard, (object)new WriteReassigned(m.Step, m.SaveId, new WriteAssignment(m.File, m.Writer))) },
        AbortStep<IActorRef> a => a.Shards.Select(s => (s, (object)new CheckpointAborted(a.Step, a.Reason))),
        _ => Array.Empty<(IActorRef, object)>(),
    };
}

using Akka.Actor;

namespace ActorCkpt;

/// <summary>
/// The stand-in planner of a root that cannot be written (<see cref="ReadOnlyRootException"/>), or
/// whose planner could not start after its tries (<see cref="PlannerSupervisorActor"/>): no catalog
/// is journaled and nothing is deleted by this process, so loads need no lease. It grants every
/// load of a committed step as the disk shows it, and refuses every save at once, naming why,
/// instead of each save failing after its deadline.
/// </summary>
internal sealed class ReadOnlyPlannerActor : ReceiveActor
{
    /// <summary>Creates the stand-in over <paramref name="store"/>; <paramref name="why"/> is told to every save.</summary>
    public ReadOnlyPlannerActor(CheckpointStore store, string why)
    {
        var agreement = new QueueAgreement();
        Receive<SubmitLocalPlan>(m => Sender.Tell(new CheckpointAborted(m.Step, why)));
        Receive<AbortSave>(_ => { });
        Receive<AcquireLoadLease>(m =>
        {
            var step = m.Step ?? store.LatestStep() ?? -1;
            Sender.Tell(step >= 0 && store.IsCommitted(step)
                ? new LoadLeaseGranted(m.RequestId, step, "")
                : new LoadLeaseRefused(m.RequestId, m.Step is null ? $"no committed checkpoint in '{store.Blobs.Root}'" : $"step {step} is not a committed checkpoint in '{store.Blobs.Root}'"));
        });
        Receive<ReleaseLoadLease>(_ => { });
        Receive<ListWriters>(_ => Sender.Tell(new WritersListed(Array.Empty<IActorRef>())));
        Receive<RegisterWriters>(_ => { });
        Receive<ReadCatalog>(_ => Sender.Tell(new CatalogRead(Array.Empty<CatalogEntry>())));
        Receive<ResolveLatestStep>(_ => Sender.Tell(new LatestStepResolved(null, FromCatalog: false)));
        Receive<CollectGarbage>(_ => Sender.Tell(new GarbageCollected(Array.Empty<long>(), Array.Empty<long>(), new[] { why })));
        Receive<AwaitPlannerStart>(_ => Sender.Tell(new PlannerStartSettled(null)));
        // No uploads from a root nothing is saved to, nor from a planner that gave up.
        Receive<AwaitUploads>(_ => Sender.Tell(UploadsIdle.Instance));
        Receive<AwaitPersists>(_ => Sender.Tell(PersistsIdle.Instance));
        Receive<AgreeQueueEmpty>(m => agreement.Vote(m, Sender).ToList().ForEach(v => v.ReplyTo.Tell(v.Answer)));
        Receive<WithdrawQueueVote>(m => Sender.Tell(agreement.Withdraw(m)));
    }

    /// <summary>Props of the stand-in planner of a read-only root.</summary>
    public static Props Props(CheckpointStore store, string why) => Akka.Actor.Props.Create(() => new ReadOnlyPlannerActor(store, why));
}

using Akka.Actor;
using Akka.Cluster;

namespace ActorCkpt;

/// <summary>
/// Watches this node's own membership and tells its node, once, when the cluster downs it: the
/// split-brain resolver on the side of a split that lost (in a cluster of two, the survivor of a
/// crash whose address is not the lower one), or a Down command. A downed node is never a member
/// again, so no planner can reach its saves. Akka shuts such a node's actor system down unless
/// <c>akka.cluster.run-coordinated-shutdown-when-down = off</c> (test clusters, and hosts that
/// handle downing themselves): then its saves would wait for a planner until their verdict deadline.
/// </summary>
internal sealed class MembershipWatchActor : ReceiveActor
{
    private readonly Cluster _cluster = Cluster.Get(Context.System);

    /// <summary>Creates the watch; use <see cref="Props"/>.</summary>
    public MembershipWatchActor(Action<Address> downed)
    {
        Receive<ClusterEvent.MemberDowned>(m => m.Member.UniqueAddress.Equals(_cluster.SelfUniqueAddress), m =>
        {
            downed(m.Member.Address);
            Context.Stop(Self);
        });
        ReceiveAny(_ => { });
    }

    /// <summary>Props of the watch: <paramref name="downed"/> hears this node's address when the cluster downs it.</summary>
    public static Props Props(Action<Address> downed) => Akka.Actor.Props.Create(() => new MembershipWatchActor(downed));

    /// <inheritdoc />
    protected override void PreStart() =>
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.MemberDowned));

    /// <inheritdoc />
    protected override void PostStop() => _cluster.Unsubscribe(Self);
}

using Akka.Actor;

namespace ActorCkpt.Actors.Tests;

/// <summary>
/// A load's lease request on its way to the planner: lost (it reached a planner stopping, as after a
/// journal failure, and went to dead letters) or asked twice and granted twice. The rank asks again
/// until a planner answers, and keeps one lease.
/// </summary>
public class LeaseRequestSpec : NodeSpec
{
    private static readonly IReadOnlyList<(string Key, DType DType, Layout Layout, long Rows, long Cols)> Model =
        TestStates.Model(new[] { DType.Float32, DType.Int64 }, new[] { Layout.Rows, Layout.Replicated });

    /// <summary>Forwards everything to the planner but the first lease request, which it loses or holds until the next one comes.</summary>
    private sealed class FirstLeaseRequestTampered : ReceiveActor
    {
        private (object Message, IActorRef Sender)? _held;
        private bool _seen;

        public FirstLeaseRequestTampered(IActorRef planner, bool hold)
        {
            Receive<AcquireLoadLease>(m =>
            {
                if (!_seen)
                {
                    _seen = true;
                    if (hold) _held = (m, Sender);
                    return;
                }
                if (_held is { } first) planner.Tell(first.Message, first.Sender);
                _held = null;
                planner.Forward(m);
            });
            ReceiveAny(m => planner.Forward(m));
        }
    }

    private CheckpointNode StartNode(bool hold)
    {
        var node = StartNode(settings: ActorCkptSettings.Create(Sys) with
        {
            PlanTimeout = TimeSpan.FromHours(1), PlanResendInterval = TimeSpan.FromMilliseconds(100),
            Retention = new RetentionPolicy(1, 0), RemovalGrace = TimeSpan.Zero,
        });
        node.ShardsPlanner = Sys.ActorOf(Props.Create(() => new FirstLeaseRequestTampered(node.Planner, hold)));
        return node;
    }

    [Fact]
    public async Task A_load_whose_lease_request_was_lost_should_ask_again_and_load_without_waiting_for_the_deadline()
    {
        var node = StartNode(hold: false);
        var states = TestStates.Build(Model, 2, seed: 3);
        await SaveAllAsync(node, 1, states);

        // Before, the request was asked once: the load waited out the plan timeout (here an hour)
        // and failed with "no planner answered the load request".
        await AssertLoadsBitExactAsync(node, Model, 3, step: 1, seed: 3, states);
    }

    [Fact]
    public async Task A_lease_granted_twice_should_be_held_once_so_that_retention_removes_the_step_after_the_load()
    {
        var node = StartNode(hold: true);
        var states = TestStates.Build(Model, 2, seed: 4);
        await SaveAllAsync(node, 1, states);
        var targets = TestStates.Empty(Model, 1);
        await LoadAllAsync(node, targets, step: 1);
        Assert.Empty(TestStates.Differences(Model, targets, seed: 4));

        // Step 2 commits and retention keeps one step: step 1 goes once no lease holds it. The
        // second grant was handed back; kept, it would hold step 1 (and gc's answer) for good.
        await SaveAllAsync(node, 2, states);
        var collected = await node.Planner.Ask<GarbageCollected>(new CollectGarbage(), Patience);
        Assert.Empty(collected.Failures);
        Assert.False(Directory.Exists(Path.Combine(Root, CheckpointLayout.StepDirectory(1))), "step 1 stayed: a lease on it was never released");
        TestStates.Dispose(states.Concat(targets));
    }
}

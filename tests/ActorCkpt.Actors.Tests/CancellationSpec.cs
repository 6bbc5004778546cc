using Akka.Actor;
using Akka.Configuration;
using Akka.Event;

namespace ActorCkpt.Actors.Tests;

/// <summary>
/// A save cancelled by its caller aborts on every rank: no metadata, its files gone, the other
/// ranks told why, and the next save of the same step works as if it had never begun.
/// </summary>
public class CancellationSpec : NodeSpec
{
    private static readonly IReadOnlyList<(string Key, DType DType, Layout Layout, long Rows, long Cols)> Model =
        TestStates.Model(new[] { DType.Float32, DType.Int64 }, new[] { Layout.Rows, Layout.Replicated });

    private CheckpointNode StartGatedNode(GatedStore.Gate gate) =>
        CheckpointNode.Start(Sys, new GatedStore(new LocalBlobStore(Root), gate, GatedStore.Kind.Writes), ActorCkptSettings.Create(Sys), "cancel");

    [Fact]
    public async Task A_save_cancelled_while_writing_should_abort_on_every_rank_and_leave_no_trace()
    {
        var states = TestStates.Build(Model, 2, seed: 1);
        var gate = new GatedStore.Gate();
        var node = StartGatedNode(gate);
        using var cancel = new CancellationTokenSource();

        var rank0 = node.Save(1, states[0], cancellation: cancel.Token);
        var rank1 = node.Save(1, states[1]);
        // A writer is inside the step directory: the save is past planning and writing.
        await gate.Entered.WaitAsync(Patience);
        cancel.Cancel();
        gate.Open();

        var cancelled = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => rank0.Committed).WaitAsync(Patience);
        Assert.Equal(cancel.Token, cancelled.CancellationToken);
        Assert.Equal(SaveStatus.Cancelled, rank0.Status);
        var failed = await Assert.ThrowsAsync<CheckpointFailedException>(() => rank1.Committed).WaitAsync(Patience);
        Assert.Contains("rank 0 cancelled its save of step 1", failed.Message);
        Assert.Equal(SaveStatus.Failed, rank1.Status);
        Assert.False(node.Store.IsCommitted(1));
        Assert.Null(node.Store.LatestStep());
        var outcomes = await node.FinalizeAsync(blocking: true).WaitAsync(Patience);
        Assert.Equal(new[] { SaveStatus.Cancelled, SaveStatus.Failed }, outcomes.OrderBy(o => o.Rank).Select(o => o.Status));
        // The attempt's files go once every rank has reported its writes.
        var stepDirectory = Path.Combine(Root, CheckpointLayout.StepDirectory(1));
        AwaitAssert(() => Assert.False(Directory.Exists(stepDirectory) && Directory.EnumerateFiles(stepDirectory, "*.safetensors").Any()), Patience);

        // The same step saves and loads as if the cancelled attempt had never been.
        await SaveAllAsync(node, 1, states);
        Assert.Equal(new long[] { 1 }, node.Store.CommittedSteps());
        Assert.Equal(node.Store.ReadMetadata(1).Files.Select(f => f.Name).Order(StringComparer.Ordinal),
            Directory.EnumerateFiles(stepDirectory, "*.safetensors").Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var targets = TestStates.Empty(Model, 3);
        await LoadAllAsync(node, targets);
        Assert.Empty(TestStates.Differences(Model, targets, seed: 1));
        TestStates.Dispose(states.Concat(targets));
    }

    [Fact]
    public async Task A_save_cancelled_before_it_began_should_stage_nothing_and_refuse_the_other_ranks_plans()
    {
        var states = TestStates.Build(Model, 2, seed: 2);
        var node = StartNode();
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        var rank0 = node.Save(1, states[0], cancellation: cancelled.Token);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => rank0.Staged).WaitAsync(Patience);
        Assert.Equal(SaveStatus.Cancelled, rank0.Status);
        Assert.Equal(0, rank0.BytesStaged);

        // Rank 1 did not hear of it before sending its plan: the planner refuses it rather than
        // wait out the plan deadline for a rank that will never come.
        var rank1 = node.Save(1, states[1]);
        var failed = await Assert.ThrowsAsync<CheckpointFailedException>(() => rank1.Committed).WaitAsync(Patience);
        Assert.Contains("rank 0 cancelled its save of step 1", failed.Message);

        await SaveAllAsync(node, 1, states);
        Assert.Equal(new long[] { 1 }, node.Store.CommittedSteps());
        TestStates.Dispose(states);
    }

    [Fact]
    public async Task A_save_in_place_cancelled_while_writing_should_end_only_once_no_writer_reads_the_tensors()
    {
        var states = TestStates.Build(Model, 2, seed: 4);
        var gate = new GatedStore.Gate();
        var node = StartGatedNode(gate);
        using var cancel = new CancellationTokenSource();

        var rank0 = node.Save(1, states[0], inPlace: true, cancellation: cancel.Token);
        var rank1 = node.Save(1, states[1], inPlace: true);
        await gate.Entered.WaitAsync(Patience);
        cancel.Cancel();
        // The planner has aborted the save (the catalog says so), but writers are still reading the
        // callers' own tensors: neither caller may hear the verdict yet, or it would free them.
        AwaitAssert(() => Assert.Equal(CheckpointStatus.Aborted,
            node.Planner.Ask<CatalogRead>(new ReadCatalog()).Result.Entries.Single(e => e.Step == 1).Status), Patience);
        Assert.False(rank0.IsFinished);
        Assert.False(rank1.IsFinished);

        gate.Open();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => rank0.Committed).WaitAsync(Patience);
        await Assert.ThrowsAsync<CheckpointFailedException>(() => rank1.Committed).WaitAsync(Patience);
        TestStates.Dispose(states);
    }

    [Fact]
    public async Task A_save_queued_behind_another_should_end_as_soon_as_it_is_cancelled()
    {
        var states = TestStates.Build(Model, 2, seed: 5);
        var gate = new GatedStore.Gate();
        var node = StartGatedNode(gate);
        using var cancel = new CancellationTokenSource();

        var first = states.Select(s => node.Save(1, s)).ToArray();
        await gate.Entered.WaitAsync(Patience);
        // One save in flight per rank (actorckpt.async.max-in-flight = 1): step 2 waits behind step 1.
        var queued = node.Save(2, states[0], cancellation: cancel.Token);
        cancel.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queued.Committed).WaitAsync(Patience);
        Assert.All(first, h => Assert.False(h.IsFinished));
        gate.Open();
        await Task.WhenAll(first.Select(h => h.Committed)).WaitAsync(Patience);
        Assert.Equal(new long[] { 1 }, node.Store.CommittedSteps());
        TestStates.Dispose(states);
    }

    [Fact]
    public async Task A_cancelled_load_should_fail_as_cancelled_and_leave_the_rank_free_for_the_next_one()
    {
        var states = TestStates.Build(Model, 2, seed: 3);
        var node = StartNode();
        await SaveAllAsync(node, 1, states);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        var target = TestStates.Empty(Model, 2);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => node.LoadAsync(target[0], 1, cancellation: cancelled.Token)).WaitAsync(Patience);

        // The rank's shard actor released its lease and took the next load.
        await LoadAllAsync(node, target, 1);
        Assert.Empty(TestStates.Differences(Model, target, seed: 3));
        TestStates.Dispose(states.Concat(target));
    }

    [Fact]
    public async Task A_load_under_way_when_the_system_stops_should_end_then_and_later_calls_should_fail_at_once()
    {
        var states = TestStates.Build(Model, 1, seed: 4);
        await SaveAllAsync(StartNode(), 1, states);
        var config = ActorCkptConfig.WithCatalog(ConfigurationFactory.ParseString("akka.loglevel = INFO").WithFallback(ActorCkptConfig.Defaults), Root);
        var system = ActorSystem.Create("stopping", config);
        var gate = new GatedStore.Gate();
        var node = CheckpointNode.Start(system, new GatedStore(new LocalBlobStore(Root), gate, GatedStore.Kind.Reads), ActorCkptSettings.Create(system), "stopping");
        var target = TestStates.Empty(Model, 1);
        var log = CreateTestProbe();
        system.EventStream.Subscribe(log.Ref, typeof(Info));

        var load = node.LoadAsync(target[0], 1);
        await gate.Entered.WaitAsync(Patience); // the load reads a data file
        var terminated = system.Terminate();
        // The read goes on once the shard actor is stopping: opened sooner, the load could end before the stop reached it.
        log.FishForMessage<Info>(i => i.Message.ToString() == "Rank 0: its actor stops during a load, which stops between reads", Patience);
        gate.Open();

        // Before, the load's ask waited out its 30 minutes: the stopped shard actor never answers.
        var stopped = await Assert.ThrowsAsync<ActorCkptException>(() => load).WaitAsync(Patience);
        Assert.Equal("the actor system 'stopping' stopped during the load", stopped.Message);
        await terminated.WaitAsync(Patience);
        var later = await Assert.ThrowsAsync<ActorCkptException>(() => node.LoadAsync(target[0], 1)).WaitAsync(Patience);
        var uploads = await Assert.ThrowsAsync<ActorCkptException>(() => node.WaitForUploadsAsync(Timeout.InfiniteTimeSpan)).WaitAsync(Patience);
        Assert.Equal("the actor system 'stopping' has stopped: this node can no longer be asked anything", later.Message);
        Assert.Equal(later.Message, uploads.Message);
        // A save after the stop never started (it said the catalog would tell whether it committed).
        var save = await Assert.ThrowsAsync<ActorCkptException>(() => node.Save(2, states[0]).Committed).WaitAsync(Patience);
        Assert.Equal("the actor system 'stopping' has stopped: the save of step 2 was not started", save.Message);
        TestStates.Dispose(states.Concat(target));
    }

    [Fact]
    public async Task A_save_cancelled_while_no_planner_takes_its_plan_should_end_cancelled_without_waiting_for_the_verdict_deadline()
    {
        var node = StartNode();
        var planner = CreateTestProbe(); // a planner that does not answer (starting, busy, unreachable)
        var settings = ActorCkptSettings.Create(Sys) with { PlanTimeout = TimeSpan.FromHours(1), PlanResendInterval = TimeSpan.FromMilliseconds(100) };
        var shard = Sys.ActorOf(ShardActor.Props(0, planner, node.Store, settings, node.StagingPool));
        var states = TestStates.Build(Model, 1, seed: 1);
        var handle = new SaveHandle(1, 0);
        using var cancel = new CancellationTokenSource();

        shard.Tell(new SaveShard(1, states[0], handle));
        planner.ExpectMsg<SubmitLocalPlan>(m => m.Step == 1);
        await handle.Staged.WaitAsync(Patience);
        handle.RequestCancel(cancel.Token);
        shard.Tell(new CancelSave(handle));

        // Before, it waited for the verdict deadline: here an hour and then some.
        var abort = planner.FishForMessage<AbortSave>(_ => true, Patience);
        Assert.Equal((1L, 0, true), (abort.Step, abort.Rank, abort.PlanSent));
        var cancelled = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => handle.Committed).WaitAsync(Patience);
        Assert.Equal(cancel.Token, cancelled.CancellationToken);
        // The save goes on until the planner answers: a save of the same step goes behind it.
        Assert.True(handle.Lingering);
        // The planner comes and answers the plan, then the abort: the save is over, and the shard actor takes the next one.
        planner.Send(shard, new LocalPlanAccepted(1));
        planner.Send(shard, new CheckpointAborted(1, abort.Reason));
        shard.Tell(new SaveShard(2, states[0], new SaveHandle(2, 0)));
        planner.FishForMessage<SubmitLocalPlan>(m => m.Step == 2, Patience);
        Assert.False(handle.Lingering);
        TestStates.Dispose(states);
    }

    [Fact]
    public async Task A_retry_of_a_step_whose_cancel_no_planner_took_in_time_should_commit_once_the_planner_comes()
    {
        var node = StartNode();
        // The planner not up yet: what the shard sends waits, in order, as a singleton proxy holds it.
        var held = Sys.ActorOf(Props.Create(() => new HeldUntilOpened(node.Planner)));
        var settings = ActorCkptSettings.Create(Sys) with { PlanResendInterval = TimeSpan.FromMilliseconds(100) };
        var shard = Sys.ActorOf(ShardActor.Props(0, held, node.Store, settings, node.StagingPool));
        var states = TestStates.Build(Model, 1, seed: 1);
        using var cancel = new CancellationTokenSource();
        var first = new SaveHandle(1, 0);
        shard.Tell(new SaveShard(1, states[0], first));
        await first.Staged.WaitAsync(Patience);
        first.RequestCancel(cancel.Token);
        shard.Tell(new CancelSave(first));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first.Committed).WaitAsync(Patience);

        // The caller saves the step again, and the planner comes. Before, the retry took the planner's
        // answers to the cancelled attempt's plan and abort for its own, and failed with "rank 0 cancelled its save of step 1".
        var retry = new SaveHandle(1, 0);
        shard.Tell(new SaveShard(1, states[0], retry));
        held.Tell(HeldUntilOpened.Open.Instance);
        Assert.Equal(1, (await retry.Committed.WaitAsync(Patience)).Step);

        var target = TestStates.Empty(Model, 1);
        await node.LoadAsync(target[0], 1).WaitAsync(Patience);
        Assert.Empty(TestStates.Differences(Model, target, seed: 1));
        TestStates.Dispose(states.Concat(target));
    }

    /// <summary>A node whose shard actors reach its planner through a <see cref="HeldUntilOpened"/> (a planner not up yet).</summary>
    private (CheckpointNode Node, IActorRef Held) NodeWithPlannerHeld(string settings, bool dropAborts = false)
    {
        var node = StartNode(settings: ActorCkptSettings.Create(ConfigurationFactory.ParseString(settings).WithFallback(Sys.Settings.Config))
            with { PlanResendInterval = TimeSpan.FromMilliseconds(100) });
        var held = Sys.ActorOf(Props.Create(() => new HeldUntilOpened(node.Planner, dropAborts)));
        node.ShardsPlanner = held;
        return (node, held);
    }

    /// <summary>Saves step 1 with a token, then cancels it: no planner answers, so its caller hears it cancelled after the grace.</summary>
    private static async Task<SaveHandle> CancelledByTheGrace(CheckpointNode node, RankState state)
    {
        using var cancel = new CancellationTokenSource();
        var first = node.Save(1, state, cancellation: cancel.Token);
        await first.Staged.WaitAsync(Patience);
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first.Committed).WaitAsync(Patience);
        Assert.True(first.Lingering);
        return first;
    }

    [Fact]
    public async Task A_retry_of_a_step_cancelled_by_the_grace_should_go_behind_the_lingering_save_even_once_finalized()
    {
        // Two shard actors per rank; the planner that comes never heard the abort (it died with the one that did).
        var (node, held) = NodeWithPlannerHeld("actorckpt.async.max-in-flight = 2", dropAborts: true);
        var states = TestStates.Build(Model, 1, seed: 1);
        await CancelledByTheGrace(node, states[0]);
        Assert.Single(await node.FinalizeAsync(blocking: false));

        // Before, the finalized outcome took the lingering save out of the node's view: the retry went to the other
        // shard actor, and the planner, taking the lingering one's re-sent plan first, refused it ("rank 0 is already saving step 1").
        var retry = node.Save(1, states[0]);
        held.Tell(HeldUntilOpened.Open.Instance);
        Assert.Equal(1, (await retry.Committed.WaitAsync(Patience)).Step);
        TestStates.Dispose(states);
    }

    [Fact]
    public async Task With_when_busy_skip_a_save_behind_a_lingering_one_should_be_skipped_at_once()
    {
        var (node, _) = NodeWithPlannerHeld("actorckpt.async.when-busy = skip");
        var states = TestStates.Build(Model, 1, seed: 1);
        await CancelledByTheGrace(node, states[0]);

        // Before, it queued behind the lingering save: its staging waited for a planner.
        var next = node.Save(2, states[0]);
        await Assert.ThrowsAsync<SaveSkippedException>(() => next.Committed).WaitAsync(Patience);
        TestStates.Dispose(states);
    }

    /// <summary>Holds every message, with its sender, until opened; then forwards them in order, and everything after.</summary>
    private sealed class HeldUntilOpened : ReceiveActor
    {
        public sealed class Open
        {
            public static readonly Open Instance = new();
        }

        private readonly List<(object Message, IActorRef Sender)> _held = new();

        public HeldUntilOpened(IActorRef target, bool dropAborts = false)
        {
            Receive<Open>(_ =>
            {
                foreach (var (message, sender) in _held) target.Tell(message, sender);
                _held.Clear();
                Become(() => ReceiveAny(m => target.Forward(m)));
            });
            // Dropped aborts: the planner they reached died before it heard them.
            ReceiveAny(m =>
            {
                if (!(dropAborts && m is AbortSave)) _held.Add((m, Sender));
            });
        }
    }

    [Fact]
    public async Task A_load_cancelled_while_it_waits_for_its_lease_should_fail_as_cancelled_without_the_planners_answer()
    {
        var node = StartNode();
        var planner = CreateTestProbe(); // a planner that does not answer (starting, busy, unreachable)
        var settings = ActorCkptSettings.Create(Sys) with { PlanTimeout = TimeSpan.FromHours(1) };
        var shard = Sys.ActorOf(ShardActor.Props(0, planner, node.Store, settings, node.StagingPool));
        var target = TestStates.Empty(Model, 1);
        using var cancel = new CancellationTokenSource();

        var reply = shard.Ask<object>(new LoadShard(null, target[0], Cancellation: cancel.Token), Patience);
        planner.ExpectMsg<AcquireLoadLease>();
        cancel.Cancel();

        // Before, the load waited for the planner or the lease deadline (here an hour).
        var failure = Assert.IsType<LoadShardFailure>(await reply);
        Assert.Equal(cancel.Token, Assert.IsType<OperationCanceledException>(failure.Cause).CancellationToken);
        TestStates.Dispose(target);
    }
}

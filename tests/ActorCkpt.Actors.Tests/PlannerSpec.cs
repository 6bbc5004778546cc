using Akka.Actor;
using TorchSharp;

namespace ActorCkpt.Actors.Tests;

public class PlannerSpec : NodeSpec
{
    private IActorRef StartPlanner(TimeSpan planTimeout) =>
        Sys.ActorOf(PlannerActor.Props(new CheckpointStore(new LocalBlobStore(Root)), ActorCkptSettings.Create(Sys) with { PlanTimeout = planTimeout }));

    private static LocalSavePlan Replicated(int rank, int world) =>
        new(rank, world, new[] { WriteItem.ForTensor("w", rank, 0, DType.Float32, new long[] { 4 }, TensorBox.Whole(new long[] { 4 })) });

    [Fact]
    public void A_rank_that_never_sends_its_plan_should_abort_the_save_at_the_deadline_naming_it()
    {
        var planner = StartPlanner(TimeSpan.FromMilliseconds(200));
        var shard0 = CreateTestProbe();
        var shard2 = CreateTestProbe();

        planner.Tell(SubmitLocalPlan.Of(3, Replicated(0, 3)), shard0);
        planner.Tell(SubmitLocalPlan.Of(3, Replicated(2, 3)), shard2);

        shard0.ExpectMsg<LocalPlanAccepted>(Patience);
        shard2.ExpectMsg<LocalPlanAccepted>(Patience);
        var aborted = shard0.ExpectMsg<CheckpointAborted>(Patience);
        shard2.ExpectMsg<CheckpointAborted>(Patience);
        Assert.Equal(3, aborted.Step);
        Assert.Contains("rank 1 did not send its plan", aborted.Reason);
        Assert.False(Directory.Exists(Path.Combine(Root, CheckpointLayout.StepDirectory(3))));
    }

    [Fact]
    public void A_late_plan_of_an_aborted_save_should_be_refused_and_a_new_attempt_accepted()
    {
        var planner = StartPlanner(TimeSpan.FromMilliseconds(200));
        var writer = CreateTestProbe();
        planner.Tell(new RegisterWriters([writer.Ref]));
        var shard0 = CreateTestProbe();
        var shard1 = CreateTestProbe();
        planner.Tell(SubmitLocalPlan.Of(1, Replicated(0, 2)), shard0);
        shard0.ExpectMsg<LocalPlanAccepted>(Patience);
        shard0.ExpectMsg<CheckpointAborted>(Patience);

        planner.Tell(SubmitLocalPlan.Of(1, Replicated(1, 2)), shard1);
        shard1.ExpectMsg<CheckpointAborted>(Patience);

        planner.Tell(SubmitLocalPlan.Of(1, Replicated(0, 2)), shard0);
        planner.Tell(SubmitLocalPlan.Of(1, Replicated(1, 2)), shard1);
        shard0.ExpectMsg<LocalPlanAccepted>(Patience);
        shard1.ExpectMsg<LocalPlanAccepted>(Patience);
        var a0 = shard0.ExpectMsg<AssignWrites>(Patience);
        var a1 = shard1.ExpectMsg<AssignWrites>(Patience);
        Assert.Equal(1, a0.Files.Count + a1.Files.Count);
    }

    [Fact]
    public void Replicated_items_should_be_assigned_to_one_rank_and_writer()
    {
        var planner = StartPlanner(TimeSpan.FromSeconds(30));
        var writers = new[] { CreateTestProbe(), CreateTestProbe() };
        planner.Tell(new RegisterWriters(writers.Select(w => w.Ref).ToArray()));
        var shards = new[] { CreateTestProbe(), CreateTestProbe() };

        for (var r = 0; r < 2; r++) planner.Tell(SubmitLocalPlan.Of(1, Replicated(r, 2)), shards[r]);

        foreach (var s in shards) s.ExpectMsg<LocalPlanAccepted>(Patience);
        var assigned = shards.Select(s => s.ExpectMsg<AssignWrites>(Patience)).ToList();
        // Both ranks hold "w" and neither writes anything else: the lower rank writes it, to the
        // writer that registered first, and rank 1 is assigned nothing.
        var only = Assert.Single(assigned[0].Files);
        Assert.Empty(assigned[1].Files);
        Assert.Equal((0, writers[0].Ref), (only.File.Rank, only.Writer));
        Assert.True(Directory.Exists(Path.Combine(Root, CheckpointLayout.StepDirectory(1))));
    }

    [Fact]
    public void A_round_waiting_for_writers_should_be_planned_over_every_writer_a_pool_registers()
    {
        var planner = StartPlanner(TimeSpan.FromSeconds(30));
        var shards = new[] { CreateTestProbe(), CreateTestProbe() };
        for (var r = 0; r < 2; r++)
            planner.Tell(SubmitLocalPlan.Of(1, new LocalSavePlan(r, 2, Enumerable.Range(0, 4).Select(i =>
                WriteItem.ForTensor($"w{r}.{i}", r, 0, DType.Float32, new long[] { 4 }, TensorBox.Whole(new long[] { 4 }))).ToArray())), shards[r]);
        foreach (var s in shards) s.ExpectMsg<LocalPlanAccepted>(Patience);

        // A pool's writers come together; before, each came alone and the round was planned over the first.
        var writers = new[] { CreateTestProbe(), CreateTestProbe(), CreateTestProbe() };
        planner.Tell(new RegisterWriters(writers.Select(w => w.Ref).ToArray()));

        var files = shards.SelectMany(s => s.ExpectMsg<AssignWrites>(Patience).Files).ToArray();
        Assert.Equal(writers.Select(w => w.Ref).ToHashSet(), files.Select(f => f.Writer).ToHashSet());
    }

    [Fact]
    public async Task One_rank_of_several_saving_a_committed_step_again_should_be_refused_at_once()
    {
        var node = StartNode(settings: ActorCkptSettings.Create(Sys) with { PlanTimeout = TimeSpan.FromHours(1) });
        await SaveAllAsync(node, 1, new[] { new RankState(0, 2).AddReplicated("w", torch.ones(3)), new RankState(1, 2).AddReplicated("w", torch.ones(3)) });

        // Before, it waited out the plan deadline (here an hour) and failed with "rank 1 did not send its plan".
        var again = node.Save(1, new RankState(0, 2).AddReplicated("w", torch.zeros(3)));
        var e = await Assert.ThrowsAsync<CheckpointFailedException>(() => again.Committed.WaitAsync(Patience));
        Assert.Contains("step 1 is already committed", e.Message);
    }

    [Fact]
    public async Task Saving_a_committed_step_again_should_be_refused_and_leave_it_intact()
    {
        var node = StartNode();
        await SaveAllAsync(node, 4, new[] { new RankState(0, 1).AddReplicated("w", torch.ones(3)) });

        var again = node.Save(4, new RankState(0, 1).AddReplicated("w", torch.zeros(3)));
        var e = await Assert.ThrowsAsync<CheckpointFailedException>(() => again.Committed.WaitAsync(Patience));

        Assert.Contains("step 4 is already committed", e.Message);
        var target = new RankState(0, 1).AddReplicated("w", torch.zeros(3));
        await node.LoadAsync(target, 4);
        Assert.Equal(new[] { 1f, 1f, 1f }, target.Tensors[0].Tensor.data<float>().ToArray());
    }

    [Fact]
    public async Task Inconsistent_plans_should_abort_naming_the_key()
    {
        var node = StartNode();
        var h0 = node.Save(1, new RankState(0, 2).AddReplicated("w", torch.ones(3)));
        var h1 = node.Save(1, new RankState(1, 2).AddReplicated("w", torch.ones(4)));

        var e = await Assert.ThrowsAsync<CheckpointFailedException>(() => h0.Committed.WaitAsync(Patience));
        await Assert.ThrowsAsync<CheckpointFailedException>(() => h1.Committed.WaitAsync(Patience));

        Assert.Contains("'w' is F32 [3] on rank 0 but F32 [4] on rank 1", e.Message);
        Assert.Empty(node.Store.CommittedSteps());
    }
}

public class PlannerRobustnessSpec : NodeSpec
{
    [Fact]
    public async Task A_negative_step_should_fail_the_save_with_a_clear_error()
    {
        var node = StartNode();

        var handle = node.Save(-1, new RankState(0, 1).AddReplicated("w", torch.ones(2)));

        var e = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => handle.Committed.WaitAsync(Patience));
        Assert.Contains("steps are non-negative", e.Message);
    }

    [Fact]
    public async Task Ranks_disagreeing_on_dimensions_should_abort_that_save_and_leave_the_planner_working()
    {
        var node = StartNode();
        var h0 = node.Save(1, new RankState(0, 2).AddReplicated("w", torch.ones(4)));
        var h1 = node.Save(1, new RankState(1, 2).AddReplicated("w", torch.ones(2, 2)));

        var e = await Assert.ThrowsAsync<CheckpointFailedException>(() => h0.Committed.WaitAsync(Patience));
        await Assert.ThrowsAsync<CheckpointFailedException>(() => h1.Committed.WaitAsync(Patience));
        await SaveAllAsync(node, 2, new[] { new RankState(0, 1).AddReplicated("w", torch.ones(4)) });

        Assert.Contains("'w' is F32 [4] on rank 0 but F32 [2, 2] on rank 1", e.Message);
        Assert.Equal(new long[] { 2 }, node.Store.CommittedSteps());
    }
}

using Akka.Actor;
using TorchSharp;

namespace ActorCkpt.Actors.Tests;

/// <summary>
/// After a committed save, a save of the same plan stages only the replicas each rank wrote
/// (<c>actorckpt.staging.skip-replicas-written-elsewhere</c>); anything that makes the writers
/// uncertain (a new plan, a failed save) stages everything again.
/// </summary>
public class ReplicaStagingSpec : NodeSpec
{
    private static readonly IReadOnlyList<(string Key, DType DType, Layout Layout, long Rows, long Cols)> Model =
        TestStates.Model(new[] { DType.Float32, DType.BFloat16, DType.Int64 }, new[] { Layout.Replicated, Layout.Rows });

    private static long Bytes(RankState state) => state.Tensors.Sum(t => t.Tensor.NumberOfElements * t.Tensor.ElementSize);

    private static async Task<SaveHandle[]> SaveAsync(CheckpointNode node, long step, RankState[] states, Action? whenStaged = null)
    {
        var handles = states.Select(s => node.Save(step, s)).ToArray();
        await Task.WhenAll(handles.Select(h => h.Staged)).WaitAsync(Patience);
        whenStaged?.Invoke();
        await Task.WhenAll(handles.Select(h => h.Committed)).WaitAsync(Patience);
        return handles;
    }

    [Fact]
    public async Task A_second_save_of_the_same_plan_should_stage_only_what_each_rank_writes()
    {
        var node = StartNode();
        var first = TestStates.Build(Model, 3, seed: 31);
        var second = TestStates.Build(Model, 3, seed: 32);

        var full = await SaveAsync(node, 1, first);
        // Once staged, the loop trains on: every tensor changes. Only staged bytes may be written.
        var partial = await SaveAsync(node, 2, second, () =>
        {
            foreach (var t in second.SelectMany(s => s.Tensors)) t.Tensor.zero_();
        });

        Assert.All(full, h => Assert.Equal(Bytes(first[h.Rank]), h.BytesStaged));
        Assert.All(partial, h => Assert.Equal(h.BytesToWrite, h.BytesStaged));
        // Each replicated tensor is staged once across the ranks, not three times.
        var replicated = Model.Where(m => m.Layout == Layout.Replicated).Sum(m => m.Rows * m.Cols * DTypes.ElementSize(m.DType));
        var sharded = Model.Where(m => m.Layout == Layout.Rows).Sum(m => m.Rows * m.Cols * DTypes.ElementSize(m.DType));
        Assert.Equal(replicated + sharded, partial.Sum(h => h.BytesStaged));
        // Spread over the ranks: each stages its rows and exactly one of the three replicated tensors
        // (312 bytes of float32, 156 of bfloat16, 624 of int64).
        Assert.Equal(new long[] { 156, 312, 624 }, partial.Select(h => h.BytesStaged - (Bytes(second[h.Rank]) - replicated)).Order());

        foreach (var (step, seed) in new[] { (1L, 31), (2L, 32) })
        {
            var targets = TestStates.Empty(Model, 2);
            await LoadAllAsync(node, targets, step);
            Assert.Empty(TestStates.Differences(Model, targets, seed));
            TestStates.Dispose(targets);
        }
        TestStates.Dispose(first.Concat(second));
    }

    [Fact]
    public async Task A_changed_plan_or_a_failed_save_should_stage_everything_again()
    {
        var node = StartNode(FaultPolicy.DiskFull("step-00000003/*"));
        var states = TestStates.Build(Model, 2, seed: 33);
        await SaveAsync(node, 1, states);

        // A new tensor changes every rank's plan: what others wrote last time says nothing of it.
        foreach (var s in states) s.AddReplicated("extra", torch.ones(4, 4));
        var changed = await SaveAsync(node, 2, states);
        Assert.All(changed, h => Assert.Equal(Bytes(states[h.Rank]), h.BytesStaged));

        var failing = states.Select(s => node.Save(3, s)).ToArray();
        await Task.WhenAll(failing.Select(h => h.Staged)).WaitAsync(Patience);
        Assert.All(failing, h => Assert.True(h.BytesStaged < Bytes(states[h.Rank]), "step 3 repeats step 2's plan and skips its replicas"));
        // Between them the ranks staged every row once and every replicated tensor (with "extra") once.
        var replicated = Model.Where(m => m.Layout == Layout.Replicated).Sum(m => m.Rows * m.Cols * DTypes.ElementSize(m.DType)) + 4 * 4 * 4;
        var sharded = Model.Where(m => m.Layout == Layout.Rows).Sum(m => m.Rows * m.Cols * DTypes.ElementSize(m.DType));
        Assert.Equal(replicated + sharded, failing.Sum(h => h.BytesStaged));
        foreach (var h in failing) await Assert.ThrowsAsync<CheckpointFailedException>(() => h.Committed.WaitAsync(Patience));

        // After a failure the writers of the next save are not known: everything is staged.
        var after = await SaveAsync(node, 4, states);
        Assert.All(after, h => Assert.Equal(Bytes(states[h.Rank]), h.BytesStaged));
        var targets = TestStates.Empty(Model, 3);
        await LoadAllAsync(node, targets, 4);
        Assert.Empty(TestStates.Differences(Model, targets, seed: 33));
        TestStates.Dispose(states.Concat(targets));
    }

    [Fact]
    public async Task Turned_off_every_save_should_stage_everything()
    {
        var node = StartNode(settings: ActorCkptSettings.Create(Sys) with { SkipReplicasWrittenElsewhere = false });
        var states = TestStates.Build(Model, 2, seed: 34);

        await SaveAsync(node, 1, states);
        var second = await SaveAsync(node, 2, states);

        Assert.All(second, h => Assert.Equal(Bytes(states[h.Rank]), h.BytesStaged));
        TestStates.Dispose(states);
    }

    [Fact]
    public async Task A_rank_assigned_a_replica_it_did_not_stage_should_report_the_file_failed_naming_it()
    {
        var node = StartNode();
        var planner = CreateTestProbe();
        var shard = Sys.ActorOf(ShardActor.Props(0, planner, node.Store, ActorCkptSettings.Create(Sys), node.StagingPool));
        var state = new RankState(0, 2).AddReplicated("w", torch.ones(8, 8)).AddReplicated("v", torch.ones(2, 2));

        // Step 1: another rank writes both tensors, so this rank remembers it wrote neither.
        var first = Submit(shard, planner, 1, state);
        Assert.Empty(first.Plan.Unstaged);
        var saveId = Guid.NewGuid();
        planner.Send(shard, new AssignWrites(1, saveId, Array.Empty<WriteAssignment>()));
        planner.ExpectMsg<ReportWrites>(r => r.SaveId == saveId && r.Failures.Count == 0);
        planner.Send(shard, new CheckpointCommitted(1, new SaveSummary(1, 0, 0)));

        // Step 2 of the same plan leaves both unstaged; a planner that assigns one anyway gets a failure, not bytes.
        var second = Submit(shard, planner, 2, state);
        Assert.Equal(new[] { 0, 1 }, second.Plan.Unstaged);
        var file = new FileWritePlan("data-r0.safetensors", 0, 0, new[] { second.Plan.Items[0] });
        var writer = CreateTestProbe();
        planner.Send(shard, new AssignWrites(2, saveId = Guid.NewGuid(), new[] { new WriteAssignment(file, writer) }));
        var report = planner.ExpectMsg<ReportWrites>(r => r.SaveId == saveId);
        Assert.Contains("rank 0 did not stage 'w'", Assert.Single(report.Failures));
        writer.ExpectNoMsg(TimeSpan.Zero);
        planner.Send(shard, new CheckpointAborted(2, "a file failed"));

        // The failure makes the rank forget: step 3 stages everything.
        Assert.Empty(Submit(shard, planner, 3, state).Plan.Unstaged);
        TestStates.Dispose(new[] { state });
    }

    private SubmitLocalPlan Submit(IActorRef shard, Akka.TestKit.TestProbe planner, long step, RankState state)
    {
        var handle = new SaveHandle(step, 0);
        shard.Tell(new SaveShard(step, state, handle));
        var submission = planner.ExpectMsg<SubmitLocalPlan>(m => m.Step == step);
        planner.Reply(new LocalPlanAccepted(step));
        return submission;
    }
}

using D = ActorCkpt.ShardSaveDecision<string>;

namespace ActorCkpt.Actors.Tests;

/// <summary>
/// A rank's save whose copy into staging buffers still runs while its plan goes out and its files
/// are written (<see cref="ShardSave{TActor}.Staging"/>): driven event by event, as in
/// <see cref="ShardSaveSpec"/>. Rank 0 of 2 stages 'w' (item 0) and 'b' (item 1); file A holds w
/// (writer w1), file B holds b (writer w2).
/// </summary>
public class PipelinedShardSaveSpec
{
    private const long Step = 9;
    private static readonly Guid Attempt = Guid.NewGuid();
    private static readonly WriteItem W = Tensor("w", 0), B = Tensor("b", 1);
    private static readonly FileWritePlan FileA = new("a.safetensors", 0, 0, new[] { W });
    private static readonly FileWritePlan FileB = new("b.safetensors", 0, 1, new[] { B });
    private static readonly FileAssignment<string> A1 = new(FileA, "w1"), B2 = new(FileB, "w2");
    private static readonly FileWriteResult ResultA = new(FileA.FileName, 80, Array.Empty<WrittenItem>());
    private static readonly FileWriteResult ResultB = new(FileB.FileName, 80, Array.Empty<WrittenItem>());
    private static readonly SaveSummary Summary = new(Step, 2, 160);

    private static WriteItem Tensor(string key, int index) =>
        WriteItem.ForTensor(key, 0, index, DType.Float32, new long[] { 4 }, TensorBox.Whole(new long[] { 4 }));

    /// <summary>A save still copying, its plan accepted and files A and B with their writers.</summary>
    private static ShardSave<string> WritingWhileStaging(bool inPlace = false)
    {
        var save = new ShardSave<string>(Step, 0, new StagedState(new LocalSavePlan(0, 2, new[] { W, B }), [], [], 0), inPlace, staging: true);
        save.Start();
        save.PlanAccepted(Step, "planner");
        save.WritesAssigned(Step, Attempt, new[] { A1, B2 });
        return save;
    }

    private static void Is(IReadOnlyList<D> actual, params D[] expected) => Assert.Equal(expected, actual);

    [Fact]
    public void A_save_still_staging_should_send_its_plan_and_its_writes_at_once()
    {
        var save = new ShardSave<string>(Step, 0, new StagedState(new LocalSavePlan(0, 2, new[] { W, B }), [], [], 0), false, staging: true);

        Is(save.Start(), new D.SendPlan(), new D.ResendPlanPeriodically(), new D.StartVerdictDeadline());
        save.PlanAccepted(Step, "planner");
        Is(save.WritesAssigned(Step, Attempt, new[] { A1, B2 }), new D.StartVerdictDeadline(),
            new D.Watch("w1"), new D.Watch("w2"), new D.SetBytesToWrite(32), new D.SendWrite(A1, 1), new D.SendWrite(B2, 1));
        Assert.True(save.Staging);
    }

    [Fact]
    public void Buffers_should_go_back_only_once_the_copy_into_them_is_over()
    {
        var save = WritingWhileStaging();

        // Writers that finished cannot free the buffers while the copy still fills them.
        Is(save.WriteSucceeded(Attempt, ResultA, "w1"), new D.AddBytesWritten(16));
        Is(save.WriteSucceeded(Attempt, ResultB, "w2"), new D.AddBytesWritten(16), new D.Report(Attempt, [ResultA, ResultB], []));
        Is(save.StagingOver(), new D.ReleaseBuffers());
        Is(save.StagingOver());
        Is(save.Committed(Step, Summary), new D.RememberWrittenElsewhere([]), new D.CompleteCommitted(Summary), new D.Finished());
    }

    [Fact]
    public void A_copy_over_before_the_writes_are_assigned_should_keep_the_buffers_for_them()
    {
        var save = new ShardSave<string>(Step, 0, new StagedState(new LocalSavePlan(0, 2, new[] { W, B }), [], [], 0), false, staging: true);
        save.Start();
        save.PlanAccepted(Step, "planner");

        Is(save.StagingOver());
        Is(save.WritesAssigned(Step, Attempt, new[] { A1, B2 }), new D.StartVerdictDeadline(),
            new D.Watch("w1"), new D.Watch("w2"), new D.SetBytesToWrite(32), new D.SendWrite(A1, 1), new D.SendWrite(B2, 1));
        Is(save.WriteSucceeded(Attempt, ResultA, "w1"), new D.AddBytesWritten(16));
        Is(save.WriteSucceeded(Attempt, ResultB, "w2"), new D.AddBytesWritten(16), new D.Report(Attempt, [ResultA, ResultB], []), new D.ReleaseBuffers());
    }

    [Fact]
    public void A_failure_heard_while_the_copy_runs_should_be_told_only_once_it_is_over()
    {
        var save = WritingWhileStaging();

        Is(save.Aborted(Step, "rank 1 failed"), new D.ForgetReplicas(), new D.StartAbandonDeadline());
        Is(save.WriteFailed(Attempt, FileA.FileName, 1, "item 0 was never staged", "w1"));
        Is(save.WriteFailed(Attempt, FileB.FileName, 1, "item 1 was never staged", "w2"),
            new D.Report(Attempt, [], ["'a.safetensors' after 1 attempts: item 0 was never staged", "'b.safetensors' after 1 attempts: item 1 was never staged"]));
        Is(save.StagingOver(), new D.CompleteFailed("rank 1 failed"), new D.ReleaseBuffers(), new D.Finished());
    }

    [Fact]
    public void A_commit_heard_while_the_copy_runs_should_be_told_once_it_is_over()
    {
        // A rank whose files all went to other ranks hears the commit before its own copy ends.
        var save = new ShardSave<string>(Step, 0, new StagedState(new LocalSavePlan(0, 2, new[] { W, B }), [], [], 0), false, staging: true);
        save.Start();
        save.PlanAccepted(Step, "planner");
        Is(save.WritesAssigned(Step, Attempt, []), new D.StartVerdictDeadline(), new D.SetBytesToWrite(0), new D.Report(Attempt, [], []));

        Is(save.Committed(Step, Summary), new D.RememberWrittenElsewhere([0, 1]), new D.StartAbandonDeadline());
        Is(save.StagingOver(), new D.CompleteCommitted(Summary), new D.ReleaseBuffers(), new D.Finished());
    }

    [Fact]
    public void A_save_in_place_still_staging_should_hold_its_verdict_until_its_writers_also_end()
    {
        var save = WritingWhileStaging(inPlace: true);

        Is(save.Aborted(Step, "rank 1 failed"), new D.ForgetReplicas(), new D.StartAbandonDeadline());
        Is(save.StagingOver());
        Is(save.WriteSucceeded(Attempt, ResultA, "w1"), new D.AddBytesWritten(16));
        Is(save.WriteSucceeded(Attempt, ResultB, "w2"), new D.AddBytesWritten(16), new D.Report(Attempt, [ResultA, ResultB], []),
            new D.ReleaseBuffers(), new D.CompleteFailed("rank 1 failed"), new D.Finished());
    }

    [Fact]
    public void A_shard_stopped_while_staging_should_leave_the_buffers_to_the_copy()
    {
        var save = WritingWhileStaging();

        Is(save.Stopped(), new D.CompleteFailed("the shard actor of rank 0 stopped"));
    }
}

using D = ActorCkpt.ShardSaveDecision<string>;

namespace ActorCkpt.Actors.Tests;

/// <summary>
/// A rank's save as a state machine (<see cref="ShardSave{TActor}"/>), driven event by event with
/// no actor system: actors are strings, and every assertion names the exact decisions returned.
/// Rank 0 of 2 stages tensors 'w' (item 0) and 'b' (item 1) and an entry 'meta' (item 2); the
/// planner assigns file A (w, meta) to writer w1 and file B (b) to writer w2.
/// </summary>
public class ShardSaveSpec
{
    private const long Step = 7;
    private static readonly Guid Attempt = Guid.NewGuid();
    private static readonly WriteItem W = Tensor("w", 0), B = Tensor("b", 1);
    private static readonly WriteItem Meta = WriteItem.ForObject("meta", 0, 2, ObjectScope.Global, 8);
    private static readonly FileWritePlan FileA = new("a.safetensors", 0, 0, new[] { W, Meta });
    private static readonly FileWritePlan FileB = new("b.safetensors", 0, 1, new[] { B });
    private static readonly FileAssignment<string> A1 = new(FileA, "w1"), B2 = new(FileB, "w2");
    private static readonly FileWriteResult ResultA = new(FileA.FileName, 100, Array.Empty<WrittenItem>());
    private static readonly FileWriteResult ResultB = new(FileB.FileName, 60, Array.Empty<WrittenItem>());
    private static readonly SaveSummary Summary = new(Step, 2, 160);
    private static readonly string CancelledByRank0 = new AbortSave(Step, 0, 2).Reason;

    /// <summary>16 bytes of float32, the whole tensor.</summary>
    private static WriteItem Tensor(string key, int index) =>
        WriteItem.ForTensor(key, 0, index, DType.Float32, new long[] { 4 }, TensorBox.Whole(new long[] { 4 }));

    private static ShardSave<string> Staged(bool inPlace = false, params int[] unstaged) =>
        new(Step, 0, new StagedState(new LocalSavePlan(0, 2, new[] { W, B, Meta }) { Unstaged = unstaged }, [], [], 0), inPlace);

    /// <summary>A save whose plan "planner" accepted and whose files A and B are with w1 and w2.</summary>
    private static ShardSave<string> Writing(bool inPlace = false)
    {
        var save = Staged(inPlace);
        save.Start();
        save.PlanAccepted(Step, "planner");
        save.WritesAssigned(Step, Attempt, new[] { A1, B2 });
        return save;
    }

    private static void Is(IReadOnlyList<D> actual, params D[] expected) => Assert.Equal(expected, actual);

    private static D.Report Report(FileWriteResult[] results, params string[] failures) => new(Attempt, results, failures);

    [Fact]
    public void A_staged_save_should_send_its_plan_until_a_planner_accepts_it_and_watch_that_planner()
    {
        var save = Staged();

        Is(save.Start(), new D.SendPlan(), new D.ResendPlanPeriodically(), new D.StartVerdictDeadline());
        Is(save.PlanResendDue(Step), new D.SendPlan());
        Is(save.PlanAccepted(Step - 1, "planner"));
        Is(save.PlanAccepted(Step, "planner"), new D.StopResendingPlan(), new D.Watch("planner"));
        Is(save.PlanAccepted(Step, "planner-2"));
        Is(save.PlanResendDue(Step));
        Assert.Equal("planner", save.Planner);
    }

    [Fact]
    public void Assigned_files_should_go_to_their_watched_writers_and_a_second_assignment_should_be_ignored()
    {
        var save = Staged();
        save.Start();
        save.PlanAccepted(Step, "planner");

        Is(save.WritesAssigned(Step, Attempt, new[] { A1, B2 }), new D.StartVerdictDeadline(),
            new D.Watch("w1"), new D.Watch("w2"), new D.SetBytesToWrite(24 + 16), new D.SendWrite(A1, 1), new D.SendWrite(B2, 1));
        Is(save.WritesAssigned(Step, Guid.NewGuid(), new[] { new FileAssignment<string>(FileA, "w9") }));
        Is(save.WriteSucceeded(Guid.NewGuid(), ResultA, "w1"));
        Assert.Equal(Attempt, save.SaveId);
    }

    [Fact]
    public void Copies_of_one_file_in_a_memory_round_should_be_tracked_apart_and_the_buffers_kept_until_every_copy_answered()
    {
        var save = Staged();
        save.Start();
        save.PlanAccepted(Step, "planner");
        var (own, peer) = (new FileAssignment<string>(FileB, "w2"), new FileAssignment<string>(FileB, "w3", Replica: 1));

        Is(save.WritesAssigned(Step, Attempt, new[] { own, peer }, StorageTier.Memory), new D.StartVerdictDeadline(),
            new D.Watch("w2"), new D.Watch("w3"), new D.SetBytesToWrite(16 + 16), new D.SendWrite(own, 1), new D.SendWrite(peer, 1));
        // The peer's writer is heard only for its own copy.
        Is(save.WriteSucceeded(Attempt, ResultB, "w3", replica: 0));
        Is(save.WriteSucceeded(Attempt, ResultB, "w3", replica: 1), new D.AddBytesWritten(16));
        Assert.Equal(1, save.OutstandingWrites);
        Assert.False(save.Released);
        Is(save.WriteSucceeded(Attempt, ResultB, "w2"), new D.AddBytesWritten(16),
            new D.Report(Attempt, [ResultB], [], [new ReplicaAck(FileB.FileName, 1, ResultB)]), new D.ReleaseBuffers());
    }

    [Fact]
    public void A_lost_writer_of_a_peer_copy_should_be_asked_about_for_that_copy()
    {
        var save = Staged();
        save.Start();
        save.PlanAccepted(Step, "planner");
        save.WritesAssigned(Step, Attempt, new[] { new FileAssignment<string>(FileB, "w2"), new FileAssignment<string>(FileB, "w3", Replica: 1) }, StorageTier.Memory);
        Is(save.ActorLost("w3"), new D.Warn("writer w3 of 'b.safetensors#1' was lost; asking for another"), new D.AskReassignment(FileB.FileName, "w3", "planner", 1));
    }

    [Fact]
    public void A_save_whose_writes_all_succeed_should_report_release_its_buffers_and_end_committed_on_the_verdict()
    {
        var save = Writing();

        Is(save.WriteSucceeded(Attempt, ResultA, "w1"), new D.AddBytesWritten(24));
        Is(save.WriteSucceeded(Attempt, ResultB, "w2"), new D.AddBytesWritten(16), Report([ResultA, ResultB]), new D.ReleaseBuffers());
        Is(save.Committed(Step, Summary), new D.RememberWrittenElsewhere([]), new D.CompleteCommitted(Summary), new D.Finished());
        // Late and duplicate messages once the save is over.
        Is(save.Committed(Step, Summary));
        Is(save.Aborted(Step, "too late"));
        Is(save.WriteSucceeded(Attempt, ResultA, "w1"));
        Is(save.ActorLost("planner"));
    }

    [Fact]
    public void Only_the_current_writer_of_a_file_should_be_heard()
    {
        var save = Writing();

        Is(save.WriteSucceeded(Attempt, ResultA, "w2"));
        Is(save.WriteFailed(Attempt, FileA.FileName, 1, "boom", "w2"));
        Is(save.ResendAsked(Attempt, FileA.FileName, "w2", 2));
        Is(save.ResendAsked(Attempt, FileA.FileName, "w1", 2), new D.SendWrite(A1, 2));
        Assert.Equal(2, save.OutstandingWrites);
    }

    [Fact]
    public void A_file_holding_an_item_the_rank_did_not_stage_should_fail_at_once_and_be_reported()
    {
        var save = Staged(unstaged: 1);
        save.Start();
        save.PlanAccepted(Step, "planner");
        var notStaged = $"'{FileB.FileName}': rank 0 did not stage 'b' {B.Box} (a replica it left to another rank)";

        Is(save.WritesAssigned(Step, Attempt, new[] { A1, B2 }), new D.StartVerdictDeadline(), new D.Watch("w1"), new D.SetBytesToWrite(24), new D.SendWrite(A1, 1));
        Is(save.WriteSucceeded(Attempt, ResultA, "w1"), new D.AddBytesWritten(24), Report([ResultA], notStaged), new D.ReleaseBuffers());
    }

    [Fact]
    public void A_rank_given_no_file_should_report_at_once_and_remember_the_tensors_others_wrote_when_committed()
    {
        var save = Staged();
        save.Start();
        save.PlanAccepted(Step, "planner");

        Is(save.WritesAssigned(Step, Attempt, Array.Empty<FileAssignment<string>>()), new D.StartVerdictDeadline(), new D.SetBytesToWrite(0), Report([]));
        Is(save.Committed(Step, Summary),
            new D.RememberWrittenElsewhere([0, 1]), new D.CompleteCommitted(Summary), new D.ReleaseBuffers(), new D.Finished());
    }

    [Fact]
    public void A_write_failure_should_be_reported_and_the_planners_abort_should_fail_the_save()
    {
        var save = Writing();

        Is(save.WriteFailed(Attempt, FileA.FileName, 3, "disk full", "w1"));
        Is(save.WriteSucceeded(Attempt, ResultB, "w2"),
            new D.AddBytesWritten(16), Report([ResultB], "'a.safetensors' after 3 attempts: disk full"), new D.ReleaseBuffers());
        Is(save.Aborted(Step - 1, "another step"));
        Is(save.Aborted(Step, "rank 0 failed to write"), new D.ForgetReplicas(), new D.CompleteFailed("rank 0 failed to write"), new D.Finished());
    }

    [Fact]
    public void Losing_the_planner_before_the_verdict_should_fail_the_save_and_keep_the_buffers_until_the_writes_end()
    {
        var save = Writing();

        // The next planner hears of it: a round another rank's plan opens there aborts naming the loss (not this rank's missing plan).
        Is(save.ActorLost("planner"), new D.TellPlannerLost("the planner planner was lost"), new D.ForgetReplicas(), new D.CompleteFailed("the planner planner was lost"),
            new D.StartAbandonDeadline());
        Is(save.WriteSucceeded(Attempt, ResultA, "w1"), new D.AddBytesWritten(24));
        Is(save.WriteSucceeded(Attempt, ResultB, "w2"), new D.AddBytesWritten(16), Report([ResultA, ResultB]), new D.ReleaseBuffers(), new D.Finished());
    }

    [Fact]
    public void Losing_the_planner_while_the_node_cuts_saves_off_should_fail_the_save_with_the_cut_off_reason()
    {
        Is(Writing().ActorLost("planner", "the host shut down"), new D.ForgetReplicas(),
            new D.CompleteFailed("the host shut down; it was cut off before its verdict (the catalog tells whether it committed)"), new D.StartAbandonDeadline());
        // A writer lost meanwhile is a writer lost: its file goes to another.
        Assert.Contains(Writing().ActorLost("w1", "the host shut down"), d => d is D.AskReassignment);
    }

    [Fact]
    public void The_node_leaving_its_cluster_before_any_planner_took_the_plan_should_fail_the_save_at_once_and_stop_sending_the_plan()
    {
        var save = Staged();
        save.Start();

        Is(save.NodeLeftCluster("this node was downed"), new D.ForgetReplicas(),
            new D.CompleteFailed("this node was downed; it was cut off before its verdict (the catalog tells whether it committed)"), new D.ReleaseBuffers(), new D.Finished());
        Is(save.PlanResendDue(Step));
    }

    [Fact]
    public void The_node_leaving_its_cluster_during_a_save_in_place_should_hold_the_failure_until_no_writer_reads_the_tensors()
    {
        var save = Writing(inPlace: true);

        Is(save.NodeLeftCluster("this node was downed"), new D.ForgetReplicas(), new D.StartAbandonDeadline());
        Is(save.WriteSucceeded(Attempt, ResultA, "w1"), new D.AddBytesWritten(24));
        Is(save.WriteSucceeded(Attempt, ResultB, "w2"), new D.AddBytesWritten(16), Report([ResultA, ResultB]), new D.ReleaseBuffers(),
            new D.CompleteFailed("this node was downed; it was cut off before its verdict (the catalog tells whether it committed)"), new D.Finished());
    }

    [Fact]
    public void The_node_leaving_its_cluster_after_the_verdict_should_change_nothing()
    {
        var save = Writing();
        save.Committed(Step, Summary);

        Is(save.NodeLeftCluster("this node was downed"));
    }

    [Fact]
    public void Losing_the_planner_after_the_verdict_should_change_nothing()
    {
        var save = Writing();
        save.Committed(Step, Summary);

        Is(save.ActorLost("planner"));
        Is(save.WriteSucceeded(Attempt, ResultA, "w1"), new D.AddBytesWritten(24));
    }

    [Fact]
    public void No_verdict_by_the_deadline_should_fail_the_save_naming_the_wait()
    {
        var save = Writing();

        Is(save.VerdictDeadlinePassed(Step - 1, TimeSpan.FromSeconds(40)));
        Is(save.VerdictDeadlinePassed(Step, TimeSpan.FromSeconds(40)),
            new D.ForgetReplicas(), new D.CompleteFailed("no verdict from the planner within 00:00:40"), new D.StartAbandonDeadline());
        Is(save.VerdictDeadlinePassed(Step, TimeSpan.FromSeconds(40)));
    }

    [Fact]
    public void A_lost_writer_should_get_its_files_reassigned_and_the_replaced_writer_should_no_longer_be_heard()
    {
        var save = Writing();
        var a3 = new FileAssignment<string>(FileA, "w3");

        Is(save.ActorLost("w1"),
            new D.Warn("writer w1 of 'a.safetensors' was lost; asking for another"), new D.AskReassignment(FileA.FileName, "w1", "planner"));
        Is(save.WriteReassigned(Guid.NewGuid(), a3));
        Is(save.WriteReassigned(Attempt, a3), new D.Watch("w3"), new D.SendWrite(a3, 1));
        Is(save.WriteSucceeded(Attempt, ResultA, "w1"));
        Is(save.WriteSucceeded(Attempt, ResultA, "w3"), new D.AddBytesWritten(24));
        // A file already answered is not reassigned again.
        Is(save.WriteReassigned(Attempt, new FileAssignment<string>(FileA, "w4")));
    }

    [Fact]
    public void A_file_reassigned_to_a_writer_already_lost_should_be_asked_for_again()
    {
        var save = Writing();
        var a3 = new FileAssignment<string>(FileA, "w3");
        var a4 = new FileAssignment<string>(FileA, "w4");
        save.ActorLost("w1");

        Is(save.ActorLost("w3"));
        Is(save.WriteReassigned(Attempt, a3), new D.AskReassignment(FileA.FileName, "w3", "planner"));
        Is(save.WriteReassigned(Attempt, a4), new D.Watch("w4"), new D.SendWrite(a4, 1));
    }

    [Fact]
    public void Before_a_planner_accepted_the_plan_requests_should_go_to_the_planner_proxy()
    {
        var save = Staged();
        save.Start();
        save.WritesAssigned(Step, Attempt, new[] { A1, B2 });

        Is(save.ActorLost("w2"), new D.Warn("writer w2 of 'b.safetensors' was lost; asking for another"), new D.AskReassignment(FileB.FileName, "w2", null));
        Is(save.CancelAsked(), new D.AskAbort(null));
    }

    [Fact]
    public void A_cancelled_save_should_end_cancelled_by_its_own_abort()
    {
        var save = Writing();

        Is(save.CancelAsked(), new D.AskAbort("planner"));
        Is(save.Aborted(Step, CancelledByRank0), new D.ForgetReplicas(), new D.CompleteCancelled(), new D.StartAbandonDeadline());
        Is(save.CancelAsked());
    }

    [Fact]
    public void A_save_cancelled_before_any_planner_took_its_plan_should_tell_its_caller_after_the_grace_and_go_on_until_a_planner_answers()
    {
        var save = Staged();
        save.Start();

        Is(save.CancelAsked(), new D.AskAbort(null), new D.StartCancelGrace());
        Is(save.CancelAsked(), new D.AskAbort(null));
        Is(save.CancelGraceOver(Step - 1));
        Is(save.CancelGraceOver(Step), new D.CompleteCancelled(SaveGoesOn: true));
        // The plan still goes (a planner that lost the abort answers it too), and the planner's answers
        // to the plan and to the abort are still this save's, not a retry's.
        Is(save.PlanResendDue(Step), new D.SendPlan());
        Is(save.PlanAccepted(Step, "planner"), new D.StopResendingPlan(), new D.Watch("planner"));
        Is(save.Aborted(Step, CancelledByRank0), new D.ForgetReplicas(), new D.CompleteCancelled(), new D.ReleaseBuffers(), new D.Finished());
    }

    [Fact]
    public void Writes_assigned_after_the_caller_heard_the_save_cancelled_should_be_refused_so_that_no_step_commits_with_it()
    {
        // A planner that never heard the abort (it died with the one that did) takes the re-sent plan.
        var save = Staged();
        save.Start();
        save.CancelAsked();
        save.CancelGraceOver(Step);
        save.PlanAccepted(Step, "planner");

        Is(save.WritesAssigned(Step, Attempt, new[] { A1, B2 }), new D.StartVerdictDeadline(),
            Report([], "rank 0's caller cancelled its save of step 7 before a planner took it"));
        Is(save.Aborted(Step, "rank 0 could not write"), new D.ForgetReplicas(), new D.CompleteFailed("rank 0 could not write"), new D.ReleaseBuffers(), new D.Finished());
    }

    [Fact]
    public void A_save_cancelled_before_its_plan_was_taken_should_wait_for_the_verdict_once_a_planner_took_it()
    {
        var save = Staged();
        save.Start();
        save.CancelAsked();

        save.PlanAccepted(Step, "planner");
        Is(save.CancelGraceOver(Step));
        Is(save.Aborted(Step, CancelledByRank0), new D.ForgetReplicas(), new D.CompleteCancelled(), new D.ReleaseBuffers(), new D.Finished());
    }

    [Fact]
    public void A_save_cancelled_while_its_copy_runs_should_tell_its_caller_once_the_copy_is_over()
    {
        var save = new ShardSave<string>(Step, 0, new StagedState(new LocalSavePlan(0, 2, new[] { W, B, Meta }), [], [], 0), inPlace: false, staging: true);
        save.Start();
        save.CancelAsked();

        Is(save.CancelGraceOver(Step));
        Is(save.StagingOver(), new D.CompleteCancelled(SaveGoesOn: true));
    }

    [Fact]
    public void A_save_in_place_cancelled_before_its_plan_was_taken_should_wait_for_the_verdict()
    {
        // Writers assigned late would read the caller's tensors: the caller hears the verdict once none can.
        var save = Staged(inPlace: true);
        save.Start();
        save.CancelAsked();

        Is(save.CancelGraceOver(Step));
    }

    [Fact]
    public void A_cancelled_save_aborted_for_another_reason_should_end_failed()
    {
        var save = Writing();

        save.CancelAsked();
        Is(save.Aborted(Step, "rank 1 could not write 'b.safetensors'"), new D.ForgetReplicas(), new D.CompleteFailed("rank 1 could not write 'b.safetensors'"), new D.StartAbandonDeadline());
    }

    [Fact]
    public void A_cancelled_save_aborted_by_another_ranks_cancellation_should_end_cancelled()
    {
        // One token cancels every rank: whichever cancel the planner heard first aborts the step.
        var save = Writing();

        save.CancelAsked();
        Is(save.Aborted(Step, new AbortSave(Step, 1, 2).Reason), new D.ForgetReplicas(), new D.CompleteCancelled(), new D.StartAbandonDeadline());
        Assert.False(AbortSave.IsCancellation(new AbortSave(Step + 1, 1, 2).Reason, Step));
        Assert.False(AbortSave.IsCancellation($"rank x cancelled its save of step {Step}", Step));
    }

    [Fact]
    public void A_save_not_cancelled_by_this_rank_should_fail_on_this_ranks_cancellation_reason()
    {
        var save = Writing();

        Is(save.Aborted(Step, CancelledByRank0), new D.ForgetReplicas(), new D.CompleteFailed(CancelledByRank0), new D.StartAbandonDeadline());
    }

    [Fact]
    public void A_cancelled_save_whose_commit_had_begun_should_end_committed()
    {
        var save = Writing();
        save.WriteSucceeded(Attempt, ResultA, "w1");
        save.WriteSucceeded(Attempt, ResultB, "w2");

        Is(save.CancelAsked(), new D.AskAbort("planner"));
        Is(save.Committed(Step, Summary), new D.RememberWrittenElsewhere([]), new D.CompleteCommitted(Summary), new D.Finished());
    }

    [Fact]
    public void A_save_in_place_should_hold_its_failure_until_no_writer_reads_the_tensors()
    {
        var save = Writing(inPlace: true);

        Is(save.Aborted(Step, "rank 1 failed"), new D.ForgetReplicas(), new D.StartAbandonDeadline());
        Is(save.WriteSucceeded(Attempt, ResultA, "w1"), new D.AddBytesWritten(24));
        Is(save.WriteFailed(Attempt, FileB.FileName, 1, "stopped", "w2"),
            Report([ResultA], "'b.safetensors' after 1 attempts: stopped"), new D.ReleaseBuffers(), new D.CompleteFailed("rank 1 failed"), new D.Finished());
    }

    [Fact]
    public void A_save_in_place_cancelled_should_end_cancelled_only_once_its_writes_ended()
    {
        var save = Writing(inPlace: true);
        save.CancelAsked();

        Is(save.Aborted(Step, CancelledByRank0), new D.ForgetReplicas(), new D.StartAbandonDeadline());
        Is(save.WriteSucceeded(Attempt, ResultA, "w1"), new D.AddBytesWritten(24));
        Is(save.WriteSucceeded(Attempt, ResultB, "w2"),
            new D.AddBytesWritten(16), Report([ResultA, ResultB]), new D.ReleaseBuffers(), new D.CompleteCancelled(), new D.Finished());
    }

    [Fact]
    public void A_save_in_place_whose_writes_had_ended_should_hear_its_failure_at_once()
    {
        var save = Writing(inPlace: true);
        save.WriteSucceeded(Attempt, ResultA, "w1");
        save.WriteSucceeded(Attempt, ResultB, "w2");

        Is(save.Aborted(Step, "rank 1 failed"), new D.ForgetReplicas(), new D.CompleteFailed("rank 1 failed"), new D.Finished());
    }

    [Fact]
    public void Streams_to_remote_writers_should_keep_the_buffers_until_they_close()
    {
        var save = Writing();

        Is(save.StreamAsked(Guid.NewGuid(), FileA.FileName, "w1"));
        Is(save.StreamAsked(Attempt, FileA.FileName, "w2"), new D.RefuseStream("'a.safetensors' is not this writer's to write any more"));
        Is(save.StreamAsked(Attempt, FileA.FileName, "w1"), new D.OpenStream(FileA));
        Is(save.StreamAsked(Attempt, FileB.FileName, "w2"), new D.OpenStream(FileB));
        save.WriteSucceeded(Attempt, ResultA, "w1");
        Is(save.WriteSucceeded(Attempt, ResultB, "w2"), new D.AddBytesWritten(16), Report([ResultA, ResultB]));
        Is(save.Committed(Step, Summary), new D.RememberWrittenElsewhere([]), new D.CompleteCommitted(Summary), new D.StartAbandonDeadline());
        Is(save.StreamClosed(Guid.NewGuid()));
        Is(save.StreamClosed(Attempt));
        Is(save.StreamClosed(Attempt), new D.ReleaseBuffers(), new D.Finished());
    }

    [Fact]
    public void After_the_verdict_files_of_lost_writers_should_stop_being_waited_for()
    {
        var save = Writing();
        save.Aborted(Step, "rank 1 failed");

        Is(save.ActorLost("w1"));
        Is(save.ActorLost("w2"),
            Report([], "'a.safetensors': its writer w1 was lost", "'b.safetensors': its writer w2 was lost"), new D.ReleaseBuffers(), new D.Finished());
    }

    [Fact]
    public void An_in_place_commit_should_be_told_only_once_no_push_reads_the_callers_tensors()
    {
        var save = Writing(inPlace: true);
        // File A's first push still reads the caller's tensors when its writer retries: a second push, which ends.
        save.StreamAsked(Attempt, FileA.FileName, "w1", attempt: 1);
        save.StreamAsked(Attempt, FileA.FileName, "w1", attempt: 2);
        save.StreamClosed(Attempt);
        save.WriteSucceeded(Attempt, ResultA, "w1");
        save.WriteSucceeded(Attempt, ResultB, "w2");
        Assert.Equal(1, save.ActiveStreams);

        // Before, the caller heard the commit here and could free what the first push reads.
        Assert.DoesNotContain(save.Committed(Step, Summary), d => d is D.CompleteCommitted);
        Assert.Contains(new D.CompleteCommitted(Summary), save.StreamClosed(Attempt));
    }

    [Fact]
    public void Abandoned_buffers_should_go_back_once_the_last_late_write_and_stream_ended()
    {
        var save = Writing();
        save.StreamAsked(Attempt, FileA.FileName, "w1");
        Is(save.Aborted(Step, "rank 1 failed"), new D.ForgetReplicas(), new D.CompleteFailed("rank 1 failed"), new D.StartAbandonDeadline());
        Is(save.AbandonDue(Step), new D.AbandonBuffers(2, 1), new D.Finished());
        Assert.True(save.Abandoned);

        // Only the current writer of a file, of this attempt, is heard.
        Is(save.LateWriteEnded(Attempt, FileA.FileName, "w2"));
        Is(save.LateWriteEnded(Guid.NewGuid(), FileA.FileName, "w1"));
        Is(save.LateWriteEnded(Attempt, FileA.FileName, "w1"));
        Is(save.LateStreamClosed(Attempt));
        Is(save.LateWriteEnded(Attempt, FileB.FileName, "w2"), new D.ReleaseBuffers());
        Assert.False(save.Abandoned);
        Assert.True(save.Released);
        Is(save.LateStreamClosed(Attempt));
    }

    [Fact]
    public void Abandoned_buffers_should_go_back_once_the_writers_still_waited_on_stopped()
    {
        var save = Writing();
        save.Aborted(Step, "rank 1 failed");
        save.AbandonDue(Step);

        Assert.True(save.AbandonedWith("w1"));
        Assert.False(save.AbandonedWith("w9"));
        Is(save.LateWriterLost("w9"));
        Is(save.LateWriterLost("w1"));
        Is(save.LateWriterLost("w2"), new D.ReleaseBuffers());
        Assert.False(save.AbandonedWith("w2"));
    }

    [Fact]
    public void Writes_that_never_end_after_the_verdict_should_be_abandoned_with_a_held_verdict_told()
    {
        var save = Writing(inPlace: true);

        Is(save.AbandonDue(Step));
        save.StreamAsked(Attempt, FileA.FileName, "w1");
        save.Aborted(Step, "rank 1 failed");
        Is(save.AbandonDue(Step - 1));
        Is(save.AbandonDue(Step), new D.AbandonBuffers(2, 1), new D.CompleteFailed("rank 1 failed"), new D.Finished());
        Assert.True(save.Abandoned);
        Is(save.WriteSucceeded(Attempt, ResultA, "w1"));
    }

    [Fact]
    public void A_stopped_shard_should_fail_an_undecided_save_and_free_buffers_nothing_reads()
    {
        var idle = Staged();
        idle.Start();
        Is(idle.Stopped(), new D.ReleaseBuffers(), new D.CompleteFailed("the shard actor of rank 0 stopped"));

        var writing = Writing();
        Is(writing.Stopped(), new D.CompleteFailed("the shard actor of rank 0 stopped"));

        var held = Writing(inPlace: true);
        held.Aborted(Step, "rank 1 failed");
        Is(held.Stopped(), new D.CompleteFailed("rank 1 failed"));
        Is(held.Stopped());
    }

    [Fact]
    public void A_save_the_node_cut_off_should_fail_saying_why_when_its_shard_stops_and_a_decided_one_keep_its_verdict()
    {
        var writing = Writing();
        Is(writing.Stopped("the host shut down"), new D.CompleteFailed("the host shut down; it was cut off before its verdict (the catalog tells whether it committed)"));

        var committed = Writing();
        committed.WriteSucceeded(Attempt, ResultA, "w1");
        committed.WriteSucceeded(Attempt, ResultB, "w2");
        committed.Committed(Step, Summary);
        Is(committed.Stopped("the host shut down"));
    }
}

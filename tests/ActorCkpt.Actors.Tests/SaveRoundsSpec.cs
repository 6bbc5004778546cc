using D = ActorCkpt.RoundDecision<string>;
namespace ActorCkpt.Actors.Tests;

/// <summary>
/// The planner's save rounds driven event by event, with no actor system: actors are strings
/// "name@node", and every test asserts the exact decisions returned, in order.
/// </summary>
public class SaveRoundsSpec
{
    private const long Step = 5;
    private static readonly TimeSpan PlanTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan WriteTimeout = TimeSpan.FromSeconds(90);

    private static SaveRounds<string> Rounds(Placement placement = Placement.Local) =>
        new(new RoundSettings(PlanTimeout, WriteTimeout, new SavePlanSettings(FilesPerRank: 1, Placement: placement)), a => a.Split('@')[1]);

    /// <summary>Rank <paramref name="rank"/>'s plan: its 4 rows of an 8 x 4 float tensor "w" (64 bytes).</summary>
    private static SubmitLocalPlan PlanOf(int rank, int worldSize = 2, long step = Step) =>
        SubmitLocalPlan.Of(step, new LocalSavePlan(rank, worldSize, new[]
        {
            WriteItem.ForTensor("w", rank, 0, DType.Float32, new long[] { 8, 4 }, new TensorBox(new long[] { 4 * rank, 0 }, new long[] { 4, 4 })),
        }));

    private static string Shard(int rank) => $"s{rank}@{(rank == 0 ? "A" : "B")}";

    private static ReportWrites Written(Guid saveId, int rank, params string[] failures) =>
        new(Step, saveId, rank, failures.Length > 0 ? Array.Empty<FileWriteResult>() : new[] { new FileWriteResult($"r{rank}", 100, Array.Empty<WrittenItem>()) }, failures);

    /// <summary>Both ranks' plans in, planned over writers wA@A and wB@B, started: the round is writing.</summary>
    private static (SaveRounds<string> Rounds, SaveRound<string> Round) Writing(Placement placement = Placement.Local, params string[] writers)
    {
        var rounds = Rounds(placement);
        rounds.Submit(PlanOf(0), Shard(0), haveWriters: true);
        rounds.Submit(PlanOf(1), Shard(1), haveWriters: true);
        rounds.Plan(Step, writers.Length > 0 ? writers : new[] { "wA@A", "wB@B" }, blocked: null);
        rounds.Started(Step);
        return (rounds, rounds[Step]!);
    }

    private static void Same(IEnumerable<D> expected, IEnumerable<D> actual) =>
        Assert.Equal(expected.Select(Show), actual.Select(Show));

    /// <summary>A decision as text, its lists spelled out (records compare lists by reference).</summary>
    private static string Show(D d) => d switch
    {
        D.AssignFiles a => $"D.AssignFiles {a.Shard}: " + string.Join(", ", a.Files.Select(f => $"{f.File.FileName} rank {f.File.Rank} by {f.Writer} #{f.File.WriterIndex}")),
        D.AbortStep a => $"D.AbortStep {a.Step} '{a.Reason}' to {string.Join(",", a.Shards)} journal {a.Journal}",
        D.AnnounceCommit a => $"D.AnnounceCommit {a.Step} to {string.Join(",", a.Shards)}: {a.Summary}",
        D.EndRound e => $"D.EndRound {e.Step} debris {e.RemoveDebris} resubmit {string.Join(",", e.Resubmit.Select(r => $"{r.Plan.Plan.Rank}:{r.Shard}"))}",
        D.CommitStep c => $"D.CommitStep {c.Step} {c.SaveId} files {string.Join(",", c.Plan.Files.Select(f => f.FileName))} results {string.Join(",", c.Results.Select(r => r.FileName))}",
        D.MoveFile m => $"D.MoveFile {m.Shard} {m.File.FileName} to {m.Writer} #{m.File.WriterIndex} on {m.File.WriterNode} (lost {m.Lost})",
        _ => d.ToString(),
    };

    private static string FileOf(SaveRound<string> round, int rank) => round.Plan!.ForRank(rank).Single().FileName;

    [Fact]
    public void A_second_save_of_a_rank_from_another_shard_should_be_refused_at_once_and_the_first_go_on()
    {
        var rounds = Rounds();
        rounds.Submit(PlanOf(0), "s0@A", haveWriters: true);

        // Before, it was acknowledged and dropped: its caller heard nothing until its verdict deadline
        // (11 minutes by default), then "failed" though the step committed.
        Same(new D[] { new D.RefusePlan(Step, "s0@C", "rank 0 is already saving step 5 from node A: a rank saves a step from one place (was this rank given to two processes?)") },
            rounds.Submit(PlanOf(0), "s0@C", haveWriters: true));
        Same(new D[] { new D.AcceptPlan(Step, "s0@A") }, rounds.Submit(PlanOf(0), "s0@A", haveWriters: true));
        Same(new D[] { new D.AcceptPlan(Step, "s1@B"), new D.PlanWrites(Step) }, rounds.Submit(PlanOf(1), "s1@B", haveWriters: true));
        Assert.Equal("s0@A", rounds[Step]!.Shards[0]);
    }

    [Fact]
    public void A_round_should_go_from_plans_to_commit_one_decision_at_a_time()
    {
        var rounds = Rounds();
        Same(new D[] { new D.StartDeadline(Step, RoundDeadline.Plans, PlanTimeout), new D.AcceptPlan(Step, "s0@A") },
            rounds.Submit(PlanOf(0), "s0@A", haveWriters: true));
        Same(new D[] { new D.AcceptPlan(Step, "s1@B"), new D.PlanWrites(Step) }, rounds.Submit(PlanOf(1), "s1@B", haveWriters: true));
        var round = rounds[Step]!;
        Same(new D[] { new D.CancelDeadline(Step), new D.RecordStart(Step, round.SaveId, 2) }, rounds.Plan(Step, new[] { "wA@A", "wB@B" }, null));
        Assert.Equal(RoundPhase.Starting, round.Phase);

        // Placement is local: each rank's one file goes to the writer on its node.
        var tag = round.FileTag;
        Same(new D[]
        {
            new D.AssignFiles(Step, round.SaveId, "s0@A", new[] { (new FileWritePlan($"r00000-000-{tag}.safetensors", 0, 0, Array.Empty<WriteItem>()), "wA@A", 0) }),
            new D.AssignFiles(Step, round.SaveId, "s1@B", new[] { (new FileWritePlan($"r00001-000-{tag}.safetensors", 1, 1, Array.Empty<WriteItem>()), "wB@B", 0) }),
            new D.StartDeadline(Step, RoundDeadline.Writes, WriteTimeout),
        }, rounds.Started(Step));

        Assert.Empty(rounds.Report(Written(round.SaveId, 1)));
        Same(new D[]
        {
            new D.CancelDeadline(Step),
            new D.CommitStep(Step, round.SaveId, round.Plan!, new[] { new FileWriteResult("r0", 100, Array.Empty<WrittenItem>()), new FileWriteResult("r1", 100, Array.Empty<WrittenItem>()) }),
        }, rounds.Report(Written(round.SaveId, 0)));
        Assert.Equal(RoundPhase.Committing, round.Phase);

        var summary = new SaveSummary(Step, 2, 200);
        Same(new D[] { new D.AnnounceCommit(Step, new[] { "s0@A", "s1@B" }, summary) }, rounds.Committed(Step, summary));
        Assert.Null(rounds[Step]);
    }

    [Fact]
    public void A_plan_sent_again_should_be_accepted_again_and_counted_once()
    {
        var rounds = Rounds();
        rounds.Submit(PlanOf(0), "s0@A", haveWriters: true);
        Same(new D[] { new D.AcceptPlan(Step, "s0@A") }, rounds.Submit(PlanOf(0), "s0@A", haveWriters: true));
        Assert.Equal(new[] { 1 }, rounds[Step]!.MissingPlans);
    }

    [Fact]
    public void A_round_whose_plans_are_in_should_wait_for_a_writer_and_plan_when_one_registers()
    {
        var rounds = Rounds();
        rounds.Submit(PlanOf(0), "s0@A", haveWriters: false);
        Same(new D[] { new D.AcceptPlan(Step, "s1@B") }, rounds.Submit(PlanOf(1), "s1@B", haveWriters: false));
        Same(new D[] { new D.PlanWrites(Step) }, rounds.WriterAdded());
        rounds.Plan(Step, new[] { "wA@A" }, null);
        // Planned already: a second writer registering while the start is journaled plans nothing twice.
        Assert.Empty(rounds.WriterAdded());
        Assert.Empty(rounds.Plan(Step, new[] { "wA@A", "wB@B" }, null));
    }

    [Theory]
    [InlineData(1, 3, "rank 1 says the world size is 3, earlier ranks said 2")]
    [InlineData(2, 2, "rank 2 is outside world size 2")]
    public void A_plan_that_does_not_fit_the_round_should_abort_it(int rank, int worldSize, string reason)
    {
        var rounds = Rounds();
        rounds.Submit(PlanOf(0), "s0@A", haveWriters: true);
        var id = rounds[Step]!.SaveId;
        var shard = $"s{rank}@B";
        Same(new D[]
        {
            new D.AcceptPlan(Step, shard),
            new D.CancelDeadline(Step),
            new D.AbortStep(Step, id, reason, new[] { "s0@A", shard }, Journal: true),
            new D.EndRound(Step, false, Array.Empty<(SubmitLocalPlan, string)>()),
        }, rounds.Submit(PlanOf(rank, worldSize), shard, haveWriters: true));
        Assert.Null(rounds[Step]);
    }

    [Fact]
    public void A_negative_step_should_abort_at_its_first_plan()
    {
        var rounds = Rounds();
        var decisions = rounds.Submit(PlanOf(0, 2, step: -1), "s0@A", haveWriters: true);
        Assert.Equal(new[] { "StartDeadline", "AcceptPlan", "CancelDeadline", "AbortStep", "EndRound" }, decisions.Select(d => d.GetType().Name));
        Assert.Equal("step -1 is negative", ((D.AbortStep)decisions[3]).Reason);
    }

    [Fact]
    public void The_plan_deadline_should_name_several_missing_ranks_in_the_plural()
    {
        var rounds = Rounds();
        rounds.Submit(PlanOf(0, 3), "s0@A", haveWriters: true);
        var abort = Assert.Single(rounds.DeadlinePassed(Step, RoundDeadline.Plans).OfType<D.AbortStep>());
        Assert.Equal($"ranks 1, 2 did not send their plans within {PlanTimeout}", abort.Reason);
    }

    [Fact]
    public void The_plan_deadline_should_abort_naming_the_missing_ranks_refuse_their_late_plans_and_let_a_new_attempt_begin()
    {
        var rounds = Rounds();
        rounds.Submit(PlanOf(0), "s0@A", haveWriters: true);
        var id = rounds[Step]!.SaveId;
        var reason = $"rank 1 did not send its plan within {PlanTimeout}";
        Same(new D[]
        {
            new D.CancelDeadline(Step),
            new D.AbortStep(Step, id, reason, new[] { "s0@A" }, Journal: true),
            new D.EndRound(Step, false, Array.Empty<(SubmitLocalPlan, string)>()),
        }, rounds.DeadlinePassed(Step, RoundDeadline.Plans));

        // Rank 1's plan of the dead attempt is refused, once; rank 0 saving again starts a new attempt.
        Same(new D[] { new D.RefusePlan(Step, "s1@B", reason) }, rounds.Submit(PlanOf(1), "s1@B", haveWriters: true));
        Same(new D[] { new D.StartDeadline(Step, RoundDeadline.Plans, PlanTimeout), new D.AcceptPlan(Step, "s0@A") },
            rounds.Submit(PlanOf(0), "s0@A", haveWriters: true));
        Assert.NotEqual(id, rounds[Step]!.SaveId);
    }

    [Fact]
    public void The_plan_deadline_with_every_plan_in_should_blame_the_missing_writer()
    {
        var rounds = Rounds();
        rounds.Submit(PlanOf(0), "s0@A", haveWriters: false);
        rounds.Submit(PlanOf(1), "s1@B", haveWriters: false);
        var abort = Assert.IsType<D.AbortStep>(rounds.DeadlinePassed(Step, RoundDeadline.Plans)[1]);
        Assert.Equal($"no writer registered within {PlanTimeout} (no node with the 'writer' role has joined, or its writers could not start: " +
                     "a writer node whose root is not this one's says so in its own log)", abort.Reason);
    }

    [Fact]
    public void A_step_that_cannot_be_written_should_abort_before_anything_is_journaled()
    {
        var rounds = Rounds();
        rounds.Submit(PlanOf(0), "s0@A", haveWriters: true);
        rounds.Submit(PlanOf(1), "s1@B", haveWriters: true);
        var id = rounds[Step]!.SaveId;
        Same(new D[]
        {
            new D.CancelDeadline(Step),
            new D.AbortStep(Step, id, "step 5 is being deleted", new[] { "s0@A", "s1@B" }, Journal: true),
            new D.EndRound(Step, false, Array.Empty<(SubmitLocalPlan, string)>()),
        }, rounds.Plan(Step, new[] { "wA@A" }, blocked: "step 5 is being deleted"));
    }

    [Fact]
    public void A_write_failure_should_abort_at_once_and_end_the_round_when_the_last_rank_reports()
    {
        var (rounds, round) = Writing();
        Same(new D[]
        {
            new D.CancelDeadline(Step),
            new D.AbortStep(Step, round.SaveId, "rank 0 could not write 'f': disk full", new[] { "s0@A", "s1@B" }, Journal: true),
            // Rank 1's writer may still be busy in the directory: the round waits for it, with a deadline.
            new D.StartDeadline(Step, RoundDeadline.Writes, WriteTimeout),
        }, rounds.Report(Written(round.SaveId, 0, "'f': disk full")));
        // A plan of the next attempt waits until the aborted one has wound down.
        var retry = PlanOf(0);
        Assert.Empty(rounds.Submit(retry, "s0@A", haveWriters: true));
        Same(new D[] { new D.CancelDeadline(Step), new D.EndRound(Step, true, new[] { (retry, "s0@A") }) },
            rounds.Report(Written(round.SaveId, 1)));
        Assert.Null(rounds[Step]);
    }

    [Fact]
    public void A_rank_s_node_leaving_should_abort_the_round_at_once_and_end_it_without_waiting_for_that_rank()
    {
        var (rounds, round) = Writing();
        Assert.Empty(rounds.NodeLost("C"));
        Same(new D[]
        {
            new D.CancelDeadline(Step),
            new D.AbortStep(Step, round.SaveId, "rank 1 left the cluster with node B", new[] { "s0@A", "s1@B" }, Journal: true),
            new D.StartDeadline(Step, RoundDeadline.Writes, WriteTimeout),
        }, rounds.NodeLost("B"));
        // Rank 0's report ends the round; rank 1's writers may still be busy, so the files stay.
        Same(new D[] { new D.CancelDeadline(Step), new D.EndRound(Step, false, Array.Empty<(SubmitLocalPlan, string)>()) },
            rounds.Report(Written(round.SaveId, 0)));
        Assert.Null(rounds[Step]);
    }

    [Fact]
    public void A_plan_parked_for_the_next_attempt_by_a_rank_whose_node_left_should_not_be_resubmitted()
    {
        var (rounds, round) = Writing();
        rounds.Report(Written(round.SaveId, 1));
        rounds.Fail(Step, "commit failed: disk full");
        // Rank 1's next attempt waits for the aborted one to wind down; then its node goes.
        Assert.Empty(rounds.Submit(PlanOf(1), Shard(1), haveWriters: true));
        Assert.Empty(rounds.NodeLost("B"));

        Same(new D[] { new D.CancelDeadline(Step), new D.EndRound(Step, true, Array.Empty<(SubmitLocalPlan, string)>()) }, rounds.Report(Written(round.SaveId, 0)));
    }

    [Fact]
    public void A_rank_s_node_leaving_after_it_reported_should_change_nothing_and_one_leaving_an_aborted_round_should_end_it()
    {
        var (rounds, round) = Writing();
        rounds.Report(Written(round.SaveId, 1));
        Assert.Empty(rounds.NodeLost("B"));
        Assert.Equal(RoundPhase.Writing, round.Phase);

        (rounds, round) = Writing();
        rounds.Report(Written(round.SaveId, 0, "'f': disk full"));
        Same(new D[] { new D.CancelDeadline(Step), new D.EndRound(Step, false, Array.Empty<(SubmitLocalPlan, string)>()) }, rounds.NodeLost("B"));
        Assert.Null(rounds[Step]);
    }

    [Fact]
    public void The_write_deadline_should_abort_naming_the_silent_ranks_and_leave_their_files()
    {
        var (rounds, round) = Writing();
        rounds.Report(Written(round.SaveId, 0));
        Same(new D[]
        {
            new D.AbortStep(Step, round.SaveId, $"ranks 1 did not finish writing within {WriteTimeout}", new[] { "s0@A", "s1@B" }, Journal: true),
            new D.EndRound(Step, false, Array.Empty<(SubmitLocalPlan, string)>()),
        }, rounds.DeadlinePassed(Step, RoundDeadline.Writes));
        // A report that comes after is about a round that is gone.
        Assert.Empty(rounds.Report(Written(round.SaveId, 1)));
    }

    [Fact]
    public void Reports_of_another_attempt_or_of_a_rank_without_a_plan_and_deadlines_of_the_wrong_phase_should_change_nothing()
    {
        var (rounds, round) = Writing();
        Assert.Empty(rounds.Report(Written(Guid.NewGuid(), 0)));
        Assert.Empty(rounds.Report(Written(round.SaveId, 2)));
        Assert.Empty(rounds.DeadlinePassed(Step, RoundDeadline.Plans));
        Assert.Equal(new[] { 0, 1 }, round.MissingReports);
        // Rank 2's report did not count: rank 0's is not the last.
        Assert.Empty(rounds.Report(Written(round.SaveId, 0)));
        Assert.Equal(new[] { 1 }, round.MissingReports);
        Assert.Equal(RoundPhase.Writing, round.Phase);

        var gathering = Rounds();
        gathering.Submit(PlanOf(0), "s0@A", haveWriters: true);
        Assert.Empty(gathering.DeadlinePassed(Step, RoundDeadline.Writes));
        Assert.Equal(RoundPhase.Gathering, gathering[Step]!.Phase);
    }

    [Fact]
    public void A_report_sent_twice_should_count_once()
    {
        var (rounds, round) = Writing();
        Assert.Empty(rounds.Report(Written(round.SaveId, 0)));
        Assert.Empty(rounds.Report(Written(round.SaveId, 0)));
        Assert.Equal(new[] { 1 }, round.MissingReports);
        Assert.IsType<D.CommitStep>(rounds.Report(Written(round.SaveId, 1))[1]);
    }

    [Fact]
    public void The_write_deadline_of_a_round_aborted_already_should_end_it_without_a_second_abort()
    {
        var (rounds, round) = Writing();
        rounds.Report(Written(round.SaveId, 0, "'f': disk full"));
        Same(new D[] { new D.EndRound(Step, false, Array.Empty<(SubmitLocalPlan, string)>()) }, rounds.DeadlinePassed(Step, RoundDeadline.Writes));
    }

    [Fact]
    public void A_lost_writer_of_an_aborted_round_should_not_be_replaced()
    {
        var (rounds, round) = Writing();
        rounds.Cancel(new AbortSave(Step, 0, 2), over: false);
        Assert.False(rounds.Reassigns(Step, round.SaveId));
        Assert.Empty(rounds.Reassign(Step, round.SaveId, FileOf(round, 0), "wA", "s0@A", new[] { "wB@B" }));
    }

    [Fact]
    public void A_rejected_deletion_should_leave_a_round_of_the_same_step_alone()
    {
        var (rounds, round) = Writing();
        Assert.Empty(rounds.JournalRejected(new CheckpointDeleted(Step, "retention", DateTimeOffset.UnixEpoch), "too big"));
        Assert.True(round.Alive);
        Assert.True(rounds.Reassigns(Step, round.SaveId));
    }

    [Fact]
    public void A_lost_writer_s_file_should_stay_on_its_rank_s_node_under_local_placement()
    {
        var (rounds, round) = Writing(Placement.Local, "wA@A", "wA2@A", "wB@B", "wC@C");
        var file = FileOf(round, 0);
        Assert.Equal("wA@A", round.Writers[round.Plan!.ForRank(0).Single().WriterIndex]);
        // wC is as idle as wA2 and comes first, but it is on another node.
        Same(new D[] { new D.MoveFile(Step, round.SaveId, "s0@A", round.Plan.Files[0] with { WriterIndex = 1, WriterNode = "A" }, "wA2@A", "wA") },
            rounds.Reassign(Step, round.SaveId, file, "wA", "s0@A", new[] { "wC@C", "wA2@A", "wB@B" }));
        Assert.Equal(1, round.Plan!.ForRank(0).Single().WriterIndex);
    }

    [Fact]
    public void A_lost_writer_s_file_should_go_to_the_least_loaded_survivor_under_spread_placement_even_a_new_one()
    {
        var (rounds, round) = Writing(Placement.Spread, "wA@A", "wB@B");
        var file = FileOf(round, 0);
        // wB already writes rank 1's 64 bytes; wC joined since the plan was made and has none.
        Same(new D[] { new D.MoveFile(Step, round.SaveId, "s0@A", round.Plan!.ForRank(0).Single() with { WriterIndex = 2, WriterNode = "C" }, "wC@C", "wA") },
            rounds.Reassign(Step, round.SaveId, file, "wA", "s0@A", new[] { "wB@B", "wC@C" }));
        Assert.Equal(new[] { "wA@A", "wB@B", "wC@C" }, round.Writers);
    }

    [Fact]
    public void A_lost_writer_with_no_survivor_should_abort_and_stale_or_answered_requests_should_be_ignored()
    {
        var (rounds, round) = Writing();
        var file = FileOf(round, 0);
        Assert.Empty(rounds.Reassign(Step, Guid.NewGuid(), file, "wA", "s0@A", new[] { "wB@B" }));
        Assert.Empty(rounds.Reassign(Step, round.SaveId, "no-such-file", "wA", "s0@A", new[] { "wB@B" }));
        rounds.Report(Written(round.SaveId, 1));
        Assert.Empty(rounds.Reassign(Step, round.SaveId, FileOf(round, 1), "wB", "s1@B", new[] { "wA@A" }));
        Same(new D[]
        {
            new D.CancelDeadline(Step),
            new D.AbortStep(Step, round.SaveId, $"no writer left to write '{file}' after wA was lost", new[] { "s0@A", "s1@B" }, Journal: true),
            new D.StartDeadline(Step, RoundDeadline.Writes, WriteTimeout),
        }, rounds.Reassign(Step, round.SaveId, file, "wA", "s0@A", Array.Empty<string>()));
    }

    [Fact]
    public void A_cancellation_before_any_plan_should_refuse_the_other_ranks_plans_of_that_attempt()
    {
        var rounds = Rounds();
        var cancel = new AbortSave(Step, 0, 3);
        Same(new D[] { new D.Warn(Step, $"Aborted step {Step} before it began: rank 0 cancelled its save of step {Step}") }, rounds.Cancel(cancel, over: false));
        Assert.Empty(rounds.Cancel(cancel, over: false));
        Same(new D[] { new D.RefusePlan(Step, "s1@B", cancel.Reason) }, rounds.Submit(PlanOf(1, 3), "s1@B", haveWriters: true));
        Same(new D[] { new D.RefusePlan(Step, "s2@B", cancel.Reason) }, rounds.Submit(PlanOf(2, 3), "s2@B", haveWriters: true));
        // Each late rank is refused once: its next plan, like the cancelling rank's, belongs to a new attempt.
        Same(new D[] { new D.StartDeadline(Step, RoundDeadline.Plans, PlanTimeout), new D.AcceptPlan(Step, "s1@B") },
            rounds.Submit(PlanOf(1, 3), "s1@B", haveWriters: true));
        Same(new D[] { new D.AcceptPlan(Step, "s0@A") }, rounds.Submit(PlanOf(0, 3), "s0@A", haveWriters: true));
    }

    [Fact]
    public void A_cancellation_before_any_plan_should_refuse_the_other_ranks_plans_though_an_older_attempt_was_aborted()
    {
        var rounds = Rounds();
        // An older attempt of the step, aborted at its plan deadline while rank 2 had sent nothing: its tombstone stays.
        rounds.Submit(PlanOf(0, 3), "s0@A", haveWriters: true);
        rounds.Submit(PlanOf(1, 3), "s1@B", haveWriters: true);
        rounds.DeadlinePassed(Step, RoundDeadline.Plans);
        Assert.Null(rounds[Step]);

        // A new attempt: rank 0 cancels before staging; before, the older tombstone made the cancel do nothing.
        var cancel = new AbortSave(Step, 0, 3);
        Same(new D[] { new D.Warn(Step, $"Aborted step {Step} before it began: rank 0 cancelled its save of step {Step}") }, rounds.Cancel(cancel, over: false));
        Same(new D[] { new D.RefusePlan(Step, "s1@B", cancel.Reason) }, rounds.Submit(PlanOf(1, 3), "s1@B", haveWriters: true));
        // Rank 2 cancels too (one token for both): its plan is not awaited, and rank 1's next one starts a new attempt.
        Assert.Empty(rounds.Cancel(new AbortSave(Step, 2, 3), over: false));
        Same(new D[] { new D.StartDeadline(Step, RoundDeadline.Plans, PlanTimeout), new D.AcceptPlan(Step, "s1@B") },
            rounds.Submit(PlanOf(1, 3), "s1@B", haveWriters: true));
        Same(new D[] { new D.AcceptPlan(Step, "s2@B") }, rounds.Submit(PlanOf(2, 3), "s2@B", haveWriters: true));
    }

    [Fact]
    public void A_cancelling_ranks_plan_that_reaches_a_planner_only_after_its_cancel_should_be_refused_not_start_a_round()
    {
        // The rank sent its plan to a planner since replaced; the new one hears the cancel, then the plan re-sent.
        var rounds = Rounds();
        var cancel = new AbortSave(Step, 0, 2, PlanSent: true);
        rounds.Cancel(cancel, over: false);

        Same(new D[] { new D.RefusePlan(Step, "s0@A", cancel.Reason) }, rounds.Submit(PlanOf(0, 2), "s0@A", haveWriters: true));
        Same(new D[] { new D.RefusePlan(Step, "s1@B", cancel.Reason) }, rounds.Submit(PlanOf(1, 2), "s1@B", haveWriters: true));
        Assert.Null(rounds[Step]);
    }

    [Fact]
    public void A_cancellation_of_the_next_attempt_while_the_aborted_one_winds_down_should_refuse_its_plans_and_start_no_round()
    {
        var (rounds, round) = Writing();
        rounds.Report(Written(round.SaveId, 0, "'f': disk full"));
        // Rank 0 saves the step again; its plan waits for rank 1's writers. Then rank 1's caller cancels the retry.
        var retry = PlanOf(0);
        Assert.Empty(rounds.Submit(retry, "s0@A", haveWriters: true));
        var cancel = new AbortSave(Step, 1, 2);
        Same(new D[]
        {
            new D.RefusePlan(Step, "s0@A", cancel.Reason),
            new D.Warn(Step, $"Aborted the next attempt of step {Step} before it began: {cancel.Reason}"),
        }, rounds.Cancel(cancel, over: false));
        Assert.Empty(rounds.Cancel(cancel, over: false));

        // The aborted attempt winds down with no attempt to start after it.
        Same(new D[] { new D.CancelDeadline(Step), new D.EndRound(Step, true, Array.Empty<(SubmitLocalPlan, string)>()) },
            rounds.Report(Written(round.SaveId, 1)));
        Assert.Null(rounds[Step]);
    }

    [Fact]
    public void A_rank_that_cannot_stage_should_have_the_other_ranks_plans_refused_with_its_reason_attempt_after_attempt()
    {
        var rounds = Rounds();
        var failed = new AbortSave(Step, 0, 2, Failure: "'w' could not be read: Tensor invalid -- empty handle.");
        Assert.Equal("rank 0 could not stage its state: 'w' could not be read: Tensor invalid -- empty handle.", failed.Reason);
        Assert.False(AbortSave.IsCancellation(failed.Reason, Step));

        Assert.NotEmpty(rounds.Cancel(failed, over: false));
        Same(new D[] { new D.RefusePlan(Step, "s1@B", failed.Reason) }, rounds.Submit(PlanOf(1), "s1@B", haveWriters: true));
        // Both ranks try again, and rank 0 fails again: a new attempt's failure (before, taken as the first one's
        // told twice, so rank 1's retry started a round that waited for rank 0's plan until the plan deadline).
        Assert.NotEmpty(rounds.Cancel(failed, over: false));
        Same(new D[] { new D.RefusePlan(Step, "s1@B", failed.Reason) }, rounds.Submit(PlanOf(1), "s1@B", haveWriters: true));
    }

    [Fact]
    public void A_rank_that_lost_the_planner_should_abort_the_round_a_plan_re_sent_to_the_successor_opened_naming_the_loss()
    {
        // The successor never had rank 0's plan (the lost planner had taken it); rank 1's, not taken then, was re-sent to it.
        var rounds = Rounds();
        var lost = new AbortSave(Step, 0, 2, Failure: "the planner p@A was lost", PlannerLost: true);
        Assert.Equal($"rank 0's save of step {Step} lost its planner: the planner p@A was lost", lost.Reason);
        Assert.False(AbortSave.IsCancellation(lost.Reason, Step));
        rounds.Submit(PlanOf(1), "s1@B", haveWriters: true);

        // Before, the round waited for rank 0's plan until the plan deadline, and then blamed rank 0 for not sending it.
        Assert.Contains(rounds.Cancel(lost, over: false).Select(Show), d => d.StartsWith($"D.AbortStep {Step} '{lost.Reason}' to s1@B", StringComparison.Ordinal));
        // Rank 0 saves the step again: its plan is a new attempt's, not refused.
        Assert.DoesNotContain(rounds.Submit(PlanOf(0), "s0@A", haveWriters: true), d => d is D.RefusePlan);
    }

    [Fact]
    public void A_rank_that_lost_the_planner_before_the_successor_had_any_plan_should_leave_no_trace()
    {
        var rounds = Rounds();
        var lost = new AbortSave(Step, 0, 2, Failure: "the planner p@A was lost", PlannerLost: true);

        Assert.Empty(rounds.Cancel(lost, over: false));

        // A save of the step begun later (a job restarted from the step before) is a new attempt, whichever rank's plan comes first.
        Same(new D[] { new D.StartDeadline(Step, RoundDeadline.Plans, PlanTimeout), new D.AcceptPlan(Step, "s1@B") },
            rounds.Submit(PlanOf(1), "s1@B", haveWriters: true));
    }

    [Fact]
    public void Every_rank_failing_to_stage_one_attempt_should_leave_the_retry_free()
    {
        var rounds = Rounds();
        rounds.Cancel(new AbortSave(Step, 0, 2, Failure: "over budget"), over: false);
        // Rank 1's failure is of the same attempt: no plan of it comes, and none is awaited.
        Assert.Empty(rounds.Cancel(new AbortSave(Step, 1, 2, Failure: "over budget"), over: false));
        Same(new D[] { new D.StartDeadline(Step, RoundDeadline.Plans, PlanTimeout), new D.AcceptPlan(Step, "s0@A") },
            rounds.Submit(PlanOf(0), "s0@A", haveWriters: true));
    }

    [Fact]
    public void A_rank_that_cancelled_the_next_attempt_before_its_plan_should_have_its_new_save_taken()
    {
        var (rounds, round) = Writing();
        rounds.Report(Written(round.SaveId, 0, "'f': disk full"));
        rounds.Submit(PlanOf(0), "s0@A", haveWriters: true);
        // Rank 1's retry is cancelled before it sent its plan: no plan of that attempt will come.
        rounds.Cancel(new AbortSave(Step, 1, 2), over: false);

        // Rank 1 saves the step once more: a new attempt, parked behind the aborted one, not refused
        // (before, it was refused as the cancelled attempt's plan, and its save failed for a cancel it had not asked for).
        Assert.Empty(rounds.Submit(PlanOf(1), "s1@B", haveWriters: true));
        Same(new D[] { new D.CancelDeadline(Step), new D.EndRound(Step, true, [(PlanOf(1), "s1@B")]) }, rounds.Report(Written(round.SaveId, 1)));
    }

    [Fact]
    public void A_shared_token_cancelling_a_rank_that_had_sent_its_plan_and_one_that_had_not_should_leave_both_retries_free()
    {
        var rounds = Rounds();
        rounds.Submit(PlanOf(0), "s0@A", haveWriters: false);
        // Rank 0's cancel ends the gathering round; rank 1's save was still queued, its plan not sent.
        rounds.Cancel(new AbortSave(Step, 0, 2, PlanSent: true), over: false);
        Assert.Empty(rounds.Cancel(new AbortSave(Step, 1, 2), over: false));
        // Before, rank 1's cancel replaced the tombstone with one refusing rank 0's next plan.
        Same(new D[] { new D.StartDeadline(Step, RoundDeadline.Plans, PlanTimeout), new D.AcceptPlan(Step, "s0@A") },
            rounds.Submit(PlanOf(0), "s0@A", haveWriters: true));
        Same(new D[] { new D.AcceptPlan(Step, "s1@B") }, rounds.Submit(PlanOf(1), "s1@B", haveWriters: true).Take(1));
    }

    [Fact]
    public void Every_rank_cancelling_one_attempt_with_a_shared_token_should_leave_the_retry_free_whether_the_round_winds_down_or_ended()
    {
        var start = new D[] { new D.StartDeadline(Step, RoundDeadline.Plans, PlanTimeout), new D.AcceptPlan(Step, "s1@B") };
        // Writing: rank 0's cancel aborts, rank 1's arrives while the round winds down.
        var (writing, round) = Writing();
        Assert.NotEmpty(writing.Cancel(new AbortSave(Step, 0, 2, PlanSent: true), over: false));
        // Before, it was taken as a cancel of the next attempt: both ranks' retries were refused once ("rank 1 cancelled …").
        Assert.Empty(writing.Cancel(new AbortSave(Step, 1, 2, PlanSent: true), over: false));
        writing.Report(Written(round.SaveId, 0));
        writing.Report(Written(round.SaveId, 1));
        Same(start, writing.Submit(PlanOf(1), "s1@B", haveWriters: true));
        Same(new D[] { new D.AcceptPlan(Step, "s0@A") }, writing.Submit(PlanOf(0), "s0@A", haveWriters: true).Take(1));

        // Still gathering (no writer yet): the round ends with rank 0's cancel, and rank 1's comes after it.
        var gathering = Rounds();
        gathering.Submit(PlanOf(0), "s0@A", haveWriters: false);
        gathering.Submit(PlanOf(1), "s1@B", haveWriters: false);
        gathering.Cancel(new AbortSave(Step, 0, 2, PlanSent: true), over: false);
        Assert.Null(gathering[Step]);
        Assert.Empty(gathering.Cancel(new AbortSave(Step, 1, 2, PlanSent: true), over: false));
        Same(start, gathering.Submit(PlanOf(1), "s1@B", haveWriters: true));
        Same(new D[] { new D.AcceptPlan(Step, "s0@A") }, gathering.Submit(PlanOf(0), "s0@A", haveWriters: true).Take(1));
    }

    [Fact]
    public void A_plan_re_sent_before_its_rounds_abort_reached_the_rank_should_start_nothing()
    {
        // Both ranks' plans in, then rank 1's cancel aborts the round while rank 0's shard, not yet
        // answered, sends its plan again: before, the copy was parked as a next attempt (or, once the
        // round had ended, started one), and the ranks' real retries met a round of a dead save.
        var rounds = Rounds();
        var plan0 = PlanOf(0);
        rounds.Submit(plan0, "s0@A", haveWriters: false);
        rounds.Submit(PlanOf(1), "s1@B", haveWriters: false);
        var (writing, round) = Writing();
        writing.Cancel(new AbortSave(Step, 1, 2, PlanSent: true), over: false);
        Assert.Empty(writing.Submit(round.Plans[0], "s0@A", haveWriters: true));
        Assert.Empty(round.NextAttempt);

        rounds.Cancel(new AbortSave(Step, 1, 2, PlanSent: true), over: false);
        Assert.Null(rounds[Step]);
        Assert.Empty(rounds.Submit(plan0, "s0@A", haveWriters: true));
        Assert.Null(rounds[Step]);
        // The ranks' retries are new attempts: a round, not refused.
        Same(new D[] { new D.StartDeadline(Step, RoundDeadline.Plans, PlanTimeout), new D.AcceptPlan(Step, "s0@A") },
            rounds.Submit(PlanOf(0), "s0@A", haveWriters: true));
    }

    [Fact]
    public void A_shared_token_cancel_whose_second_rank_s_plan_was_refused_by_the_first_s_cancel_should_leave_the_retry_free()
    {
        // Found by a runtime probe: rank 1's cancel ends the gathering round; rank 0's plan of that
        // attempt comes next and is refused; then rank 0's own cancel of it. Before, that cancel was
        // taken as one of a new attempt, and both ranks' retries were refused ("rank 0 cancelled …").
        var rounds = Rounds();
        rounds.Submit(PlanOf(1), "s1@B", haveWriters: true);
        rounds.Cancel(new AbortSave(Step, 1, 2, PlanSent: true), over: false);
        Same(new D[] { new D.RefusePlan(Step, "s0@A", "rank 1 cancelled its save of step 5") }, rounds.Submit(PlanOf(0), "s0@A", haveWriters: true));
        Assert.Empty(rounds.Cancel(new AbortSave(Step, 0, 2, PlanSent: true), over: false));

        Same(new D[] { new D.StartDeadline(Step, RoundDeadline.Plans, PlanTimeout), new D.AcceptPlan(Step, "s1@B") },
            rounds.Submit(PlanOf(1), "s1@B", haveWriters: true));
        Same(new D[] { new D.AcceptPlan(Step, "s0@A") }, rounds.Submit(PlanOf(0), "s0@A", haveWriters: true).Take(1));
    }

    [Fact]
    public void A_rank_cancelling_before_it_sent_its_plan_should_have_its_retry_accepted()
    {
        var rounds = Rounds();
        rounds.Submit(PlanOf(1), "s1@B", haveWriters: true);
        // Rank 0's save was still queued behind another when its caller cancelled: it never sends that plan.
        rounds.Cancel(new AbortSave(Step, 0, 2), over: false);
        Assert.Null(rounds[Step]);
        // Before, its retry was refused as a late plan of the cancelled attempt, and rank 1's retry waited for it until the plan deadline.
        Same(new D[] { new D.StartDeadline(Step, RoundDeadline.Plans, PlanTimeout), new D.AcceptPlan(Step, "s0@A") },
            rounds.Submit(PlanOf(0), "s0@A", haveWriters: true));
        Same(new D[] { new D.AcceptPlan(Step, "s1@B") }, rounds.Submit(PlanOf(1), "s1@B", haveWriters: true).Take(1));
    }

    [Fact]
    public void A_cancellation_of_a_step_that_is_over_or_committing_should_change_nothing()
    {
        var rounds = Rounds();
        Assert.Empty(rounds.Cancel(new AbortSave(Step, 0, 2), over: true));
        Assert.Empty(rounds.Submit(PlanOf(1), "s1@B", haveWriters: true).OfType<D.RefusePlan>());

        var (committing, round) = Writing();
        committing.Report(Written(round.SaveId, 0));
        committing.Report(Written(round.SaveId, 1));
        Assert.Empty(committing.Cancel(new AbortSave(Step, 0, 2), over: false));
        Assert.Equal(RoundPhase.Committing, round.Phase);
    }

    [Fact]
    public void A_cancellation_while_writing_should_abort_and_wait_for_the_writers()
    {
        var (rounds, round) = Writing();
        Same(new D[]
        {
            new D.CancelDeadline(Step),
            new D.AbortStep(Step, round.SaveId, "rank 1 cancelled its save of step 5", new[] { "s0@A", "s1@B" }, Journal: true),
            new D.StartDeadline(Step, RoundDeadline.Writes, WriteTimeout),
        }, rounds.Cancel(new AbortSave(Step, 1, 2), over: false));
        Assert.Empty(rounds.Report(Written(round.SaveId, 0)));
        Same(new D[] { new D.CancelDeadline(Step), new D.EndRound(Step, true, Array.Empty<(SubmitLocalPlan, string)>()) },
            rounds.Report(Written(round.SaveId, 1)));
    }

    [Fact]
    public void A_failed_commit_should_abort_and_remove_the_written_files()
    {
        var (rounds, round) = Writing();
        rounds.Report(Written(round.SaveId, 0));
        rounds.Report(Written(round.SaveId, 1));
        Same(new D[]
        {
            new D.CancelDeadline(Step),
            new D.AbortStep(Step, round.SaveId, "commit failed: disk full", new[] { "s0@A", "s1@B" }, Journal: true),
            new D.EndRound(Step, true, Array.Empty<(SubmitLocalPlan, string)>()),
        }, rounds.Fail(Step, "commit failed: disk full"));
    }

    [Fact]
    public void A_rejected_start_should_abandon_the_round_without_journaling_and_remove_its_files()
    {
        var rounds = Rounds();
        rounds.Submit(PlanOf(0), "s0@A", haveWriters: true);
        rounds.Submit(PlanOf(1), "s1@B", haveWriters: true);
        rounds.Plan(Step, new[] { "wA@A" }, null);
        var round = rounds[Step]!;
        Same(new D[]
        {
            new D.CancelDeadline(Step),
            new D.AbortStep(Step, round.SaveId, "the catalog journal rejected SaveStarted: too big", new[] { "s0@A", "s1@B" }, Journal: false),
            new D.EndRound(Step, true, Array.Empty<(SubmitLocalPlan, string)>()),
        }, rounds.JournalRejected(new SaveStarted(Step, round.SaveId, 2, "step_5", DateTimeOffset.UnixEpoch), "too big"));
        Assert.Null(rounds[Step]);
    }

    [Fact]
    public void A_rejected_commit_should_still_be_announced_as_committed_and_a_rejected_abort_should_change_nothing()
    {
        var (rounds, round) = Writing();
        Assert.Empty(rounds.JournalRejected(new SaveAborted(Step, round.SaveId, "x", DateTimeOffset.UnixEpoch), "too big"));
        rounds.Report(Written(round.SaveId, 0));
        rounds.Report(Written(round.SaveId, 1));
        // The metadata is in place: the step is committed, whatever the journal says; recovery records it.
        Same(new D[]
        {
            new D.Warn(Step, "step 5 is committed (its metadata is in place) but the catalog journal rejected its commit (too big); the next recovery records it"),
            new D.AnnounceCommit(Step, new[] { "s0@A", "s1@B" }, new SaveSummary(Step, 2, 200)),
        }, rounds.JournalRejected(new SaveCommitted(Step, round.SaveId, "0123456789abcdef", 2, 200, DateTimeOffset.UnixEpoch), "too big"));
        Assert.Null(rounds[Step]);
        // Not an aborted step: a plan of the step is a new attempt, not a late one.
        Assert.IsType<D.StartDeadline>(rounds.Submit(PlanOf(1), "s1@B", haveWriters: true)[0]);
    }

    [Fact]
    public void A_failed_journal_should_announce_the_commit_it_failed_to_record_and_fail_every_other_round()
    {
        var (rounds, committing) = Writing();
        rounds.Report(Written(committing.SaveId, 0));
        rounds.Report(Written(committing.SaveId, 1));
        rounds.Submit(PlanOf(0, step: 6), "s0@A", haveWriters: false);
        var other = rounds[6]!;
        Same(new D[]
        {
            new D.AnnounceCommit(Step, new[] { "s0@A", "s1@B" }, new SaveSummary(Step, 2, 200)),
            new D.AbortStep(6, other.SaveId, "the catalog journal failed: gone", new[] { "s0@A" }, Journal: false),
        }, rounds.JournalFailed(new SaveCommitted(Step, committing.SaveId, "0123456789abcdef", 2, 200, DateTimeOffset.UnixEpoch), "gone"));
    }
}

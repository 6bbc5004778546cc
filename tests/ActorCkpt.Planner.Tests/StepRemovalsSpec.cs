namespace ActorCkpt.Planner.Tests;

/// <summary>The planner's deletion bookkeeping driven call by call: which removals start when, and what a collection reports.</summary>
public class StepRemovalsSpec
{
    private static readonly Func<long, bool> NoLease = _ => false;

    private static StepRemovals<string> Removals(bool grace = false, int keepLast = 2) => new(new RetentionPolicy(keepLast, 0), grace);

    [Fact]
    public void A_step_just_committed_should_be_spared_by_that_commit_s_retention_whatever_its_age()
    {
        var removals = Removals(keepLast: 1);
        Assert.Equal(new long[] { 5 }, removals.Retain([4, 5, 6], spare: 4).Select(d => d.Step));
        Assert.Equal(new long[] { 4, 5 }, removals.Retain([4, 5, 6]).Select(d => d.Step));
    }

    [Fact]
    public void A_collection_asked_to_keep_fewer_should_tighten_keep_last_for_that_call_only_never_loosen_it()
    {
        Assert.Equal(new[] { (1L, "retention: step 1 is older than the newest 1"), (2L, "retention: step 2 is older than the newest 1") },
            Removals(keepLast: 0).Retain([1, 2, 3], keepLast: 1));
        Assert.Empty(Removals(keepLast: 0).Retain([1, 2, 3]));
        Assert.Equal(new long[] { 1 }, Removals(keepLast: 2).Retain([1, 2, 3], keepLast: 5).Select(d => d.Step));
        var everyTwo = new StepRemovals<string>(new RetentionPolicy(0, 2), grace: false);
        Assert.Equal(new long[] { 1, 3 }, everyTwo.Retain([1, 2, 3, 4, 5], keepLast: 1).Select(d => d.Step));
    }

    [Fact]
    public void A_deleted_step_no_lease_holds_should_go_at_once_and_only_once()
    {
        var removals = Removals();
        Assert.Equal(new long[] { 1 }, removals.Deleted(1, NoLease));
        Assert.True(removals.IsBusy(1));
        Assert.False(removals.CanRenew(1));
        Assert.Empty(removals.Freed(new long[] { 1 }));
        Assert.Empty(removals.Unleased(NoLease));
    }

    [Fact]
    public void A_leased_step_should_go_once_freed_of_its_leases_and_may_be_renewed_meanwhile()
    {
        var removals = Removals();
        Assert.Empty(removals.Deleted(1, _ => true));
        Assert.True(removals.CanRenew(1));
        Assert.Empty(removals.Freed(new long[] { 2 }));
        Assert.Equal(new long[] { 1 }, removals.Freed(new long[] { 1, 2 }));
    }

    [Fact]
    public void The_grace_after_start_should_hold_every_removal_until_it_ends()
    {
        var removals = Removals(grace: true);
        Assert.True(removals.Holding);
        Assert.Empty(removals.Deleted(1, NoLease));
        Assert.Empty(removals.Recovered(new long[] { 2 }, _ => true));
        Assert.Empty(removals.Freed(new long[] { 1, 2 }));
        Assert.Empty(removals.Unleased(NoLease));
        Assert.Equal(new long[] { 2 }, removals.EndGrace(step => step == 1));
        Assert.False(removals.Holding);
        Assert.Equal(new long[] { 1 }, removals.Freed(new long[] { 1 }));
    }

    [Fact]
    public void Recovery_should_keep_deleted_steps_for_later_and_hand_back_the_debris()
    {
        var removals = Removals(grace: true);
        Assert.Equal(new long[] { 3, 5 }, removals.Recovered(new long[] { 2, 3, 4, 5 }, step => step % 2 == 0));
        Assert.True(removals.IsBusy(2));
        Assert.True(removals.IsBusy(4));
        Assert.False(removals.IsBusy(3));
        Assert.Equal(new long[] { 3 }, removals.Debris(new long[] { 2, 3, 6 }, step => step == 6));
    }

    [Fact]
    public void Retention_should_name_the_steps_to_delete_with_their_reason_and_the_next_collection_should_report_them()
    {
        var removals = Removals(keepLast: 2);
        Assert.Equal(new[] { (1L, "retention: step 1 is older than the newest 2"), (2L, "retention: step 2 is older than the newest 2") },
            removals.Retain(new long[] { 1, 2, 3, 4 }));
        removals.Removed(7, asDebris: true);
        removals.Removed(8, asDebris: false);
        var report = removals.Collect("gc")!;
        Assert.Equal(new long[] { 7 }, report.DebrisRemoved);
        Assert.Equal(new long[] { 1, 2 }, report.Deleted);
        Assert.Empty(report.Failures);
        // Reported once: the next collection starts afresh.
        var next = removals.Collect("gc")!;
        Assert.Empty(next.DebrisRemoved);
        Assert.Empty(next.Deleted);
    }

    [Fact]
    public void A_collection_should_be_answered_once_the_files_of_every_deleted_step_are_gone_with_each_failure()
    {
        var removals = Removals();
        removals.Retain(new long[] { 1, 2, 3, 4 });
        removals.Deleted(1, NoLease);
        removals.Deleted(2, NoLease);
        Assert.Null(removals.Collect("gc"));
        Assert.Empty(removals.Finished(1, null));
        var (asker, report) = Assert.Single(removals.Finished(2, "permission denied"));
        Assert.Equal("gc", asker);
        Assert.Equal(new long[] { 1, 2 }, report.Deleted);
        Assert.Equal(new[] { "step 2: permission denied" }, report.Failures);
        // A failed removal waits on nothing more: the step is not busy and the next collection answers at once.
        Assert.False(removals.IsBusy(2));
        Assert.NotNull(removals.Collect("gc2"));
    }

    [Fact]
    public void A_deletion_the_journal_refused_should_be_reported_as_a_failure_once_not_as_deleted()
    {
        var removals = Removals(keepLast: 2);
        removals.Retain(new long[] { 1, 2, 3, 4 });
        removals.Refused(1, "journal full");
        removals.Deleted(2, NoLease);
        // Retention decides on step 1 again (it is still there) and the journal refuses it again: one line.
        removals.Retain(new long[] { 1, 3, 4 });
        removals.Refused(1, "journal still full");
        Assert.False(removals.IsBusy(1));
        Assert.Null(removals.Collect("gc"));
        var (_, report) = Assert.Single(removals.Finished(2, null));
        Assert.Equal(new long[] { 2 }, report.Deleted);
        Assert.Equal(new[] { "step 1: the catalog refused its deletion (journal still full); the step stays" }, report.Failures);
        Assert.Empty(removals.Collect("gc2")!.Failures);

        // Refused, then retention decides again and the journal takes it: deleted, and only that.
        removals.Retain(new long[] { 1, 3, 4 });
        removals.Refused(1, "journal full");
        removals.Retain(new long[] { 1, 3, 4 });
        removals.Deleted(1, NoLease);
        Assert.Null(removals.Collect("gc3"));
        var (_, last) = Assert.Single(removals.Finished(1, null));
        Assert.Equal(new long[] { 1 }, last.Deleted);
        Assert.Empty(last.Failures);
    }
}

namespace ActorCkpt.Actors.Tests;

/// <summary>The planner's start tries: a doubling backoff, a bound, and a start that resets the count.</summary>
public sealed class PlannerStartsSpec
{
    [Fact]
    public void Failed_starts_should_back_off_doubling_then_give_up_at_the_bound_naming_the_reason()
    {
        var starts = new PlannerStarts(3, TimeSpan.FromMilliseconds(200));

        Assert.Equal(new PlannerStartDecision.RetryAfter(TimeSpan.FromMilliseconds(200), "the checkpoint planner could not start (try 1 of 3; next in 0.2 s): locked"), starts.Failed("locked"));
        Assert.Equal(new PlannerStartDecision.RetryAfter(TimeSpan.FromMilliseconds(400), "the checkpoint planner could not start (try 2 of 3; next in 0.4 s): locked"), starts.Failed("locked"));
        Assert.Equal(new PlannerStartDecision.GiveUp("the checkpoint planner could not start (3 tries): journal down"), starts.Failed("journal down"));
    }

    [Fact]
    public void A_start_should_reset_the_tries_so_a_later_failure_begins_a_new_run()
    {
        var starts = new PlannerStarts(2, TimeSpan.FromSeconds(1));
        Assert.IsType<PlannerStartDecision.RetryAfter>(starts.Failed("locked"));

        starts.Started();

        Assert.Equal(0, starts.FailedInARow);
        Assert.Equal(new PlannerStartDecision.RetryAfter(TimeSpan.FromSeconds(1), "the checkpoint planner could not start (try 1 of 2; next in 1 s): it stopped"), starts.Failed("it stopped"));
    }

    [Fact]
    public void The_backoff_should_double_no_further_than_30_s()
    {
        var starts = new PlannerStarts(100, TimeSpan.FromSeconds(1));
        var waits = Enumerable.Range(0, 8).Select(_ => ((PlannerStartDecision.RetryAfter)starts.Failed("locked")).Backoff.TotalSeconds);

        Assert.Equal(new double[] { 1, 2, 4, 8, 16, 30, 30, 30 }, waits);
    }

    [Fact]
    public void Given_up_it_should_try_once_more_after_the_set_wait_and_again_after_each_failed_try()
    {
        var starts = new PlannerStarts(2, TimeSpan.FromMilliseconds(200), startAgainAfter: TimeSpan.FromSeconds(30));
        Assert.IsType<PlannerStartDecision.RetryAfter>(starts.Failed("journal down"));

        Assert.Equal(new PlannerStartDecision.GiveUp("the checkpoint planner could not start (2 tries; it tries again every 30 s): journal down", TimeSpan.FromSeconds(30)),
            starts.Failed("journal down"));
        // Each try after giving up is one try, not a new run of backoffs.
        Assert.Equal(new PlannerStartDecision.GiveUp("the checkpoint planner could not start (3 tries; it tries again every 30 s): journal down", TimeSpan.FromSeconds(30)),
            starts.Failed("journal down"));
        // A planner that failed whenever it ran is not tried again.
        Assert.Equal(new PlannerStartDecision.GiveUp("the checkpoint planner could not start (4 tries): a bug"), starts.Failed("a bug", retryable: false));
        starts.Started();
        Assert.IsType<PlannerStartDecision.RetryAfter>(starts.Failed("journal down"));
    }

    [Fact]
    public void A_refusal_no_try_changes_should_give_up_at_once_for_good()
    {
        var starts = new PlannerStarts(5, TimeSpan.FromMilliseconds(200), startAgainAfter: TimeSpan.FromSeconds(30));
        Assert.Equal(new PlannerStartDecision.GiveUp("the checkpoint planner could not start: a copy"), starts.Refused("a copy"));
    }

    [Fact]
    public void One_attempt_should_give_up_at_the_first_failure()
    {
        Assert.Equal(new PlannerStartDecision.GiveUp("the checkpoint planner could not start (1 try): locked"), new PlannerStarts(1, TimeSpan.Zero).Failed("locked"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PlannerStarts(0, TimeSpan.Zero));
    }
}

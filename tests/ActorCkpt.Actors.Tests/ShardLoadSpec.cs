using D = ActorCkpt.ShardLoadDecision<string>;

namespace ActorCkpt.Actors.Tests;

/// <summary>
/// A rank's load as a state machine (<see cref="ShardLoad{TActor}"/>), driven event by event with
/// no actor system: the caller and planners are strings, and every assertion names the exact
/// decisions returned.
/// </summary>
public class ShardLoadSpec
{
    private static readonly object Loaded = new();

    private static void Is(IReadOnlyList<D> actual, params D[] expected) => Assert.Equal(expected, actual);

    /// <summary>A load of step 5 whose lease "planner" granted.</summary>
    private static ShardLoad<string> Running()
    {
        var load = new ShardLoad<string>(new LoadShard(5, null), "caller");
        load.Start();
        load.Granted(load.RequestId, 5, "checksum", "planner");
        return load;
    }

    /// <summary>The failure <paramref name="decision"/> answers the caller with.</summary>
    private static Exception FailureIn(D decision)
    {
        var answer = Assert.IsType<D.Answer>(decision);
        Assert.Equal("caller", answer.To);
        return Assert.IsType<LoadShardFailure>(answer.Reply).Cause;
    }

    [Fact]
    public void A_load_should_ask_for_a_lease_then_watch_its_grantor_and_run()
    {
        var load = new ShardLoad<string>(new LoadShard(null, null), "caller");

        Is(load.Start(), new D.AskLease(load.RequestId, null, Renew: false), new D.StartLeaseDeadline(), new D.AskPeriodically());
        Is(load.Granted(load.RequestId, 5, "checksum", "planner"), new D.StopAsking(), new D.StopLeaseDeadline(), new D.Watch("planner"), new D.Run(5, "checksum"));
        Assert.Equal(5, load.Step);
    }

    [Fact]
    public void A_lease_request_should_be_asked_again_with_its_id_until_a_planner_answers()
    {
        // A planner stopping (after a journal failure) or starting takes no messages: a request
        // asked once waited out the plan timeout although its successor was up in a second.
        var load = new ShardLoad<string>(new LoadShard(7, null), "caller");
        load.Start();

        Is(load.AskDue(), new D.AskLease(load.RequestId, 7, Renew: false));
        Is(load.AskDue(), new D.AskLease(load.RequestId, 7, Renew: false));
        Is(load.Granted(load.RequestId, 7, "checksum", "planner-2"), new D.StopAsking(), new D.StopLeaseDeadline(), new D.Watch("planner-2"), new D.Run(7, "checksum"));
        Is(load.AskDue());
    }

    [Fact]
    public void A_refused_lease_request_should_not_be_asked_again()
    {
        var load = new ShardLoad<string>(new LoadShard(7, null), "caller");
        load.Start();
        load.Refused(load.RequestId, "step 7 is not committed");

        Is(load.AskDue());
        // Asked twice, it may be granted by a planner that took the repeated request: handed back.
        Is(load.Granted(load.RequestId, 7, "checksum", "planner"), new D.HandBack(7, "planner"));
    }

    [Fact]
    public void A_completed_load_should_log_its_warnings_release_the_lease_and_answer_the_caller()
    {
        var load = Running();

        Is(load.Completed(Loaded, new[] { "key 'x' missing" }),
            new D.Warn("key 'x' missing"), new D.Unwatch("planner"), new D.ReleaseLease(5), new D.Answer("caller", Loaded), new D.Finished());
        Is(load.Completed(Loaded, Array.Empty<string>()));
    }

    [Fact]
    public void A_refused_lease_should_fail_the_load_as_not_found()
    {
        var load = new ShardLoad<string>(new LoadShard(9, null), "caller");
        load.Start();

        Is(load.Refused(Guid.NewGuid(), "not this one"));
        var decisions = load.Refused(load.RequestId, "step 9 is not committed");

        Assert.Equal(2, decisions.Count);
        var cause = Assert.IsType<CheckpointNotFoundException>(FailureIn(decisions[0]));
        Assert.Equal("step 9 is not committed", cause.Message);
        Assert.Equal(new D.Finished(), decisions[1]);
    }

    [Fact]
    public void No_answer_by_the_deadline_should_fail_the_load_and_a_late_grant_should_be_handed_back()
    {
        var load = new ShardLoad<string>(new LoadShard(null, null), "caller");
        load.Start();
        var decisions = load.LeaseDeadlinePassed(TimeSpan.FromMinutes(1));

        Assert.Equal(2, decisions.Count);
        Assert.Equal("no planner answered the load request within 00:01:00", FailureIn(decisions[0]).Message);
        Assert.Equal(new D.Finished(), decisions[1]);
        Is(load.Granted(load.RequestId, 5, "checksum", "planner"), new D.HandBack(5, "planner"));
    }

    [Fact]
    public void A_load_cancelled_before_its_grant_should_fail_as_cancelled_at_once_and_hand_back_a_late_grant()
    {
        using var cancel = new CancellationTokenSource();
        var load = new ShardLoad<string>(new LoadShard(null, null, Cancellation: cancel.Token), "caller");
        load.Start();
        cancel.Cancel();
        var decisions = load.Cancelled();

        Assert.Equal(2, decisions.Count);
        Assert.Equal(cancel.Token, Assert.IsType<OperationCanceledException>(FailureIn(decisions[0])).CancellationToken);
        Assert.Equal(new D.Finished(), decisions[1]);
        Is(load.Granted(load.RequestId, 5, "checksum", "planner"), new D.HandBack(5, "planner"));
        // Once running, the loader hears the token itself and completes.
        Is(Running().Cancelled());
    }

    [Fact]
    public void The_lease_deadline_should_not_end_a_load_already_granted()
    {
        var load = Running();

        Is(load.LeaseDeadlinePassed(TimeSpan.FromMinutes(1)));
        Is(load.Refused(load.RequestId, "late refusal"));
    }

    [Fact]
    public void A_grant_for_another_request_or_a_second_grant_of_this_one_should_be_handed_back()
    {
        var load = Running();

        Is(load.Granted(Guid.NewGuid(), 4, "other", "planner"), new D.HandBack(4, "planner"));
        // The request was asked again before its answer came: each grant is a lease, one is kept.
        Is(load.Granted(load.RequestId, 5, "checksum", "planner"), new D.HandBack(5, "planner"));
        Is(load.Refused(load.RequestId, "late refusal of the repeated request"));
    }

    [Fact]
    public void Losing_the_grantor_should_renew_the_lease_with_its_successor_until_one_answers()
    {
        var load = Running();
        var first = load.RequestId;

        Is(load.ActorLost("writer"));
        var renewing = load.ActorLost("planner");
        var renewal = load.RequestId;
        Assert.NotEqual(first, renewal);
        Is(renewing,
            new D.Warn("the planner holding the lease on step 5 stopped; renewing it with its successor"),
            new D.AskLease(renewal, 5, Renew: true), new D.AskPeriodically());
        Is(load.AskDue(), new D.AskLease(renewal, 5, Renew: true));
        Is(load.Granted(first, 5, "checksum", "planner-2"), new D.HandBack(5, "planner-2"));
        Is(load.Granted(renewal, 5, "checksum", "planner-2"),
            new D.StopAsking(), new D.Watch("planner-2"), new D.Warn("the lease on step 5 renewed with planner-2"));
        // Asked more than once, the renewal is granted more than once: the lease kept is the first.
        Is(load.Granted(renewal, 5, "checksum", "planner-2"), new D.HandBack(5, "planner-2"));
        Is(load.AskDue());
        Is(load.Completed(Loaded, Array.Empty<string>()),
            new D.Unwatch("planner-2"), new D.ReleaseLease(5), new D.Answer("caller", Loaded), new D.Finished());
    }

    [Fact]
    public void A_refused_renewal_should_only_warn_and_the_load_should_still_release_its_step()
    {
        var load = Running();
        load.ActorLost("planner");

        Is(load.Refused(load.RequestId, "step 5 was deleted"),
            new D.StopAsking(), new D.Warn("the lease on step 5 could not be renewed (step 5 was deleted); its files may go before this load ends"));
        Is(load.AskDue());
        Is(load.Completed(Loaded, Array.Empty<string>()), new D.ReleaseLease(5), new D.Answer("caller", Loaded), new D.Finished());
    }

    [Fact]
    public void A_load_ending_while_it_renews_should_release_the_step_with_the_planner()
    {
        var load = Running();
        load.ActorLost("planner");

        Is(load.ActorLost("planner"));
        Is(load.Completed(Loaded, Array.Empty<string>()), new D.ReleaseLease(5), new D.Answer("caller", Loaded), new D.Finished());
    }
}

using Akka.Actor;
using Akka.TestKit;

namespace ActorCkpt.Actors.Tests;

/// <summary>The warm-up's wait for the planner: an ask lost with a planner that failed is made again, not waited out.</summary>
public sealed class PlannerAnsweredSpec : Akka.TestKit.Xunit2.TestKit
{
    [Fact]
    public async Task An_ask_the_planner_lost_should_be_made_again_and_the_wait_end_at_the_next_answer()
    {
        var planner = CreateTestProbe();
        // An hour of timeout: before, the one ask lost here held the wait (and a start) for all of it.
        var answered = NodeWarmUp.PlannerAnsweredAsync(planner.Ref, TimeSpan.FromHours(1), reaskEvery: TimeSpan.FromMilliseconds(200));

        // The first ask goes unanswered, as one in the mailbox of a planner that failed.
        await planner.ExpectMsgAsync<ListWriters>();
        await planner.ExpectMsgAsync<ListWriters>(TimeSpan.FromSeconds(30));
        Assert.False(answered.IsCompleted);
        planner.LastSender.Tell(new WritersListed(Array.Empty<IActorRef>()));

        await answered.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_planner_that_never_answers_should_end_the_wait_at_the_timeout_naming_it()
    {
        var planner = CreateTestProbe();

        var e = await Assert.ThrowsAsync<AskTimeoutException>(() =>
            NodeWarmUp.PlannerAnsweredAsync(planner.Ref, TimeSpan.FromMilliseconds(500), reaskEvery: TimeSpan.FromMilliseconds(200)).WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal("the planner did not answer within 00:00:00.5000000", e.Message);
    }
}

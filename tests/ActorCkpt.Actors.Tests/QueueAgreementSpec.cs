using Akka.Actor;

namespace ActorCkpt.Actors.Tests;

/// <summary>The queue question's rounds driven vote by vote: answers, and votes taken back by ranks that gave up.</summary>
public class QueueAgreementSpec
{
    private static readonly IActorRef Rank0 = ActorRefs.Nobody;
    private static readonly IActorRef Rank1 = ActorRefs.NoSender;

    [Fact]
    public void A_vote_taken_back_should_name_the_ranks_that_had_not_voted_and_leave_the_round_to_be_asked_again()
    {
        var agreement = new QueueAgreement();
        Assert.Empty(agreement.Vote(new AgreeQueueEmpty(1, 0, 3, LocallyEmpty: true), Rank0));
        Assert.Empty(agreement.Vote(new AgreeQueueEmpty(1, 2, 3, LocallyEmpty: true), Rank0));
        Assert.Equal(new[] { 1 }, ((QueueVoteWithdrawn)agreement.Withdraw(new WithdrawQueueVote(1, 0))).Missing);
        Assert.Equal(new[] { 0, 1 }, ((QueueVoteWithdrawn)agreement.Withdraw(new WithdrawQueueVote(1, 2))).Missing);

        // Every vote taken back: the round starts afresh, and the stale "empty" votes count no more.
        Assert.Empty(agreement.Vote(new AgreeQueueEmpty(1, 0, 2, LocallyEmpty: false), Rank0));
        var answers = agreement.Vote(new AgreeQueueEmpty(1, 1, 2, LocallyEmpty: true), Rank1);
        Assert.All(answers, a => Assert.Equal(new QueueEmptyAgreed(1, Empty: false), a.Answer));
        Assert.Equal(2, answers.Count);
    }

    [Fact]
    public void A_vote_taken_back_after_its_round_completed_should_get_the_round_s_answer()
    {
        var agreement = new QueueAgreement();
        agreement.Vote(new AgreeQueueEmpty(4, 0, 2, LocallyEmpty: true), Rank0);
        agreement.Vote(new AgreeQueueEmpty(4, 1, 2, LocallyEmpty: true), Rank1);
        Assert.Equal(new QueueEmptyAgreed(4, Empty: true), agreement.Withdraw(new WithdrawQueueVote(4, 0)));
        // A round nobody voted in has nothing to take back.
        Assert.Equal(Array.Empty<int>(), ((QueueVoteWithdrawn)agreement.Withdraw(new WithdrawQueueVote(9, 0))).Missing);
    }

    [Fact]
    public void A_vote_with_another_world_size_should_be_refused_to_its_rank_alone_and_not_counted()
    {
        var agreement = new QueueAgreement();
        Assert.Empty(agreement.Vote(new AgreeQueueEmpty(1, 0, 2, LocallyEmpty: true), Rank0));
        // Before, the round counted to 2 and answered true, though rank 2 of the world of 3 never asked.
        var refused = agreement.Vote(new AgreeQueueEmpty(1, 1, 3, LocallyEmpty: true), Rank1);
        Assert.Equal(Rank1, refused.Single().ReplyTo);
        Assert.Equal(new QueueQuestionRefused(1, "rank 1 asked whether every save queue is empty in a world of 3 ranks, and rank(s) 0 in one of 2: every rank must give the same world size"),
            refused.Single().Answer);
        Assert.Equal(2, agreement.Vote(new AgreeQueueEmpty(1, 1, 2, LocallyEmpty: true), Rank1).Count);
    }
}

using Akka.Actor;

namespace ActorCkpt;

/// <summary>
/// The planner's side of "is the save queue empty on every rank?": a collective. Each rank votes
/// in numbered rounds (its first question is round 1, and so on); once every rank of the world has
/// voted in a round, all of them get the same answer: empty only if empty everywhere.
/// </summary>
internal sealed class QueueAgreement
{
    // Answers of completed rounds kept for a rank that gave up just as its round completed.
    private const int AnswersKept = 64;

    private readonly Dictionary<long, (int World, Dictionary<int, (bool Empty, IActorRef ReplyTo)> Votes)> _rounds = new();
    private readonly Dictionary<long, QueueEmptyAgreed> _answers = new();
    private readonly Queue<long> _answered = new();

    /// <summary>
    /// Records a vote; returns the answers to send once the round is complete, else nothing. A vote
    /// that gives another world size than the round's first is not recorded: its rank alone is answered
    /// <see cref="QueueQuestionRefused"/> (before, the round counted to the first world size given).
    /// </summary>
    public IReadOnlyList<(IActorRef ReplyTo, object Answer)> Vote(AgreeQueueEmpty vote, IActorRef replyTo)
    {
        if (!_rounds.TryGetValue(vote.Round, out var round)) _rounds[vote.Round] = round = (vote.WorldSize, new());
        if (vote.WorldSize != round.World)
            return [(replyTo, new QueueQuestionRefused(vote.Round,
                $"rank {vote.Rank} asked whether every save queue is empty in a world of {vote.WorldSize} ranks, and rank(s) {string.Join(", ", round.Votes.Keys.Order())} " +
                $"in one of {round.World}: every rank must give the same world size"))];
        round.Votes[vote.Rank] = (vote.LocallyEmpty, replyTo);
        if (round.Votes.Count < round.World) return Array.Empty<(IActorRef, object)>();
        _rounds.Remove(vote.Round);
        var answer = new QueueEmptyAgreed(vote.Round, round.Votes.Values.All(v => v.Empty));
        _answers[vote.Round] = answer;
        _answered.Enqueue(vote.Round);
        while (_answered.Count > AnswersKept) _answers.Remove(_answered.Dequeue());
        return round.Votes.Values.Select(v => (v.ReplyTo, (object)answer)).ToArray();
    }

    /// <summary>
    /// Takes back <paramref name="withdrawal"/>'s vote: the round's answer when it completed already,
    /// else <see cref="QueueVoteWithdrawn"/> naming the ranks that had not voted (a round left without votes is forgotten).
    /// </summary>
    public object Withdraw(WithdrawQueueVote withdrawal)
    {
        if (_answers.TryGetValue(withdrawal.Round, out var answer)) return answer;
        if (!_rounds.TryGetValue(withdrawal.Round, out var round)) return new QueueVoteWithdrawn(withdrawal.Round, []);
        round.Votes.Remove(withdrawal.Rank);
        if (round.Votes.Count == 0) _rounds.Remove(withdrawal.Round);
        return new QueueVoteWithdrawn(withdrawal.Round, Enumerable.Range(0, round.World).Where(r => !round.Votes.ContainsKey(r) && r != withdrawal.Rank).ToArray());
    }
}

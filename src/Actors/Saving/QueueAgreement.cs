using Akka.Actor;

namespace ActorCkpt;

/// <summary>
/// The planner's side of "is the save queue empty on every rank?": a collective. Each rank votes
/// in numbered rounds (its first question is round 1, and so on); once every rank of the world has
/// voted in a round, all of them get the same answer: empty only if empty everywhere.
/// </summary>
internal sealed class QueueAgreement
{
    private readonly Dictionary<long, (int World, Dictionary<int, (bool Empty, IActorRef ReplyTo)> Votes)> _rounds = new();

    /// <summary>Records a vote; returns the answers to send once the round is complete, else nothing.</summary>
    public IReadOnlyList<(IActorRef ReplyTo, QueueEmptyAgreed Answer)> Vote(AgreeQueueEmpty vote, IActorRef replyTo)
    {
        if (!_rounds.TryGetValue(vote.Round, out var round)) _rounds[vote.Round] = round = (vote.WorldSize, new());
        round.Votes[vote.Rank] = (vote.LocallyEmpty, replyTo);
        if (round.Votes.Count < round.World) return Array.Empty<(IActorRef, QueueEmptyAgreed)>();
        _rounds.Remove(vote.Round);
        var answer = new QueueEmptyAgreed(vote.Round, round.Votes.Values.All(v => v.Empty));
        return round.Votes.Values.Select(v => (v.ReplyTo, answer)).ToArray();
    }
}

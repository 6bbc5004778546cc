namespace ActorCkpt;

/// <summary>
/// A reason set once by a node and read by all its shard actors, which share it. The node has two:
/// <list type="bullet">
/// <item>saves cut off: the node stopped without waiting for its saves in flight (a dispose's or a
/// host's shutdown's bound ran out); a save still in flight as its shard actor stops fails saying
/// so, rather than that a shard actor stopped;</item>
/// <item>left the cluster: the cluster downed the node (<see cref="MembershipWatchActor"/>); no
/// planner can reach it any more, so a save fails as it begins instead of re-sending its plan to no
/// one until its verdict deadline (plan-timeout + write-timeout, 11 minutes by default), as it would
/// while the node's actor system runs on.</item>
/// </list>
/// </summary>
internal sealed class NodeNotice
{
    private string? _why;

    /// <summary>The reason; null until it is set.</summary>
    public string? Why => Volatile.Read(ref _why);

    /// <summary>Records <paramref name="why"/>; true the first time only (the first reason stands).</summary>
    public bool Set(string why) => Interlocked.CompareExchange(ref _why, why, null) is null;
}

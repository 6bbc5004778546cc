namespace ActorCkpt;

/// <summary>
/// Why this node is no longer a member of its cluster (the cluster downed it; see
/// <see cref="MembershipWatchActor"/>): set once by the node, and read by its shard actors as each
/// save begins. No planner can reach the node any more, so a save fails at once instead of
/// re-sending its plan to no one until its verdict deadline (plan-timeout + write-timeout, 11
/// minutes by default), as it would while the node's actor system runs on.
/// </summary>
internal sealed class LeftClusterNotice
{
    private string? _why;

    /// <summary>Why the node left its cluster; null while it is a member (or never was one).</summary>
    public string? Why => Volatile.Read(ref _why);

    /// <summary>Records <paramref name="why"/>; true the first time only (a node leaves its cluster once).</summary>
    public bool Set(string why) => Interlocked.CompareExchange(ref _why, why, null) is null;
}

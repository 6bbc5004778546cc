namespace ActorCkpt;

/// <summary>
/// This process as a node of an ActorCkpt cluster (<see cref="CheckpointerOptions.Cluster"/>):
/// where it listens, which nodes it joins through, and what it does. The shipped cluster defaults
/// (split-brain resolver, failure detector, planner singleton) lie under these.
/// </summary>
public sealed class CheckpointClusterOptions
{
    /// <summary>Name of the actor system: every node of one cluster must use the same one.</summary>
    public string SystemName { get; set; } = "actorckpt";

    /// <summary>The address this node listens on and is reached at.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>The port this node listens on; 0 picks a free one (not for a seed node, whose address others must know).</summary>
    public int Port { get; set; }

    /// <summary>
    /// Nodes to join through, as <c>host:port</c> or full <c>akka.tcp://system@host:port</c>
    /// addresses. The first seed node starts the cluster when it lists itself first; empty: this
    /// node forms a cluster of its own.
    /// </summary>
    public IList<string> SeedNodes { get; } = new List<string>();

    /// <summary>
    /// What this node does: <c>rank</c> (hosts training ranks: saves and loads), <c>writer</c>
    /// (hosts a writer pool), <c>planner</c> (may host the planner singleton). A training node is all three,
    /// the default. To give only some, assign a list (<c>Roles = ["writer"]</c>): an initializer
    /// (<c>Roles = { "writer" }</c>) adds to the three, and a role listed twice is refused.
    /// </summary>
    public IList<string> Roles { get; set; } = new List<string> { "rank", "writer", "planner" };

    /// <summary>How long <c>Checkpointer.Start</c> waits for this node to join (be up in the cluster) before it gives up, naming the seed nodes.</summary>
    public TimeSpan JoinTimeout { get; set; } = TimeSpan.FromMinutes(1);
}

namespace ActorCkpt;

/// <summary>The cluster roles a node can have (<c>akka.cluster.roles</c>).</summary>
internal static class ClusterRoles
{
    /// <summary>Hosts shard actors: the node runs training ranks.</summary>
    public const string Rank = "rank";

    /// <summary>Hosts a writer pool.</summary>
    public const string Writer = "writer";

    /// <summary>May host the planner singleton.</summary>
    public const string Planner = "planner";
}

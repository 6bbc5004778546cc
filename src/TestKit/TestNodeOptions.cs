namespace ActorCkpt.TestKit;

/// <summary>One node of an <see cref="ActorCkptTestCluster"/>: what it does, its storage faults and its settings.</summary>
public sealed class TestNodeOptions
{
    /// <summary>
    /// Its roles: <c>rank</c> (saves and loads), <c>writer</c> (writes data files), <c>planner</c>
    /// (may host the planner singleton); all three by default. To give only some, assign a list
    /// (<c>Roles = ["writer"]</c>) or use <see cref="WithRoles"/>: an initializer (<c>Roles = { "writer" }</c>)
    /// adds to the three, and a role listed twice is refused.
    /// </summary>
    public IList<string> Roles { get; set; } = new List<string> { "rank", "writer", "planner" };

    /// <summary>
    /// Faults in front of this node's storage, or null. Give each node its own: killing a node
    /// releases the blocked writes of its faults.
    /// </summary>
    public StorageFaults? Faults { get; set; }

    /// <summary>Settings under <c>actorckpt</c> by their path below it, as in <see cref="CheckpointerOptions.Settings"/>.</summary>
    public IDictionary<string, string> Settings { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>HOCON over the cluster's test configuration (<see cref="ActorCkptTestCluster.TestHocon"/>), as in <see cref="CheckpointerOptions.Hocon"/>.</summary>
    public string? Hocon { get; set; }

    /// <summary>A node with these <paramref name="roles"/> (one or more of rank, writer, planner).</summary>
    public static TestNodeOptions WithRoles(params string[] roles)
    {
        var node = new TestNodeOptions();
        node.Roles.Clear();
        foreach (var role in roles) node.Roles.Add(role);
        return node;
    }
}

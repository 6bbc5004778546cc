namespace ActorCkpt;

/// <summary>Which writers may write a rank's files.</summary>
internal enum Placement
{
    /// <summary>Writers on the rank's own node, so no tensor byte crosses the network (falls back to all writers when its node has none).</summary>
    Local,
    /// <summary>Every writer in the cluster, bytes balanced over all of them.</summary>
    Spread,
}

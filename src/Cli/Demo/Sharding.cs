namespace ActorCkpt.Cli.Demo;

/// <summary>How a synthetic tensor is laid out over the ranks.</summary>
internal enum Sharding
{
    /// <summary>Whole on every rank.</summary>
    Replicated,
    /// <summary>Split along dim 0 in nearly equal parts.</summary>
    Rows,
    /// <summary>Split along dim 1 in nearly equal parts.</summary>
    Columns,
    /// <summary>Split along dim 0 in parts proportional to 1, 2, …; the last rank gets none (an empty shard).</summary>
    UnevenRows,
}

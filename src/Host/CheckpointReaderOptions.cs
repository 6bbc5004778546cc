using Microsoft.Extensions.Logging;

namespace ActorCkpt;

/// <summary>
/// How a <see cref="CheckpointReader"/> loads: the defaults are those of a live
/// <see cref="Checkpointer"/> (<c>actorckpt.load.parallelism</c> and <c>actorckpt.load.strict</c>).
/// </summary>
public sealed record CheckpointReaderOptions
{
    private readonly int _loadParallelism = 4;

    /// <summary>Byte ranges one load reads at a time; at least 1. Default 4.</summary>
    public int LoadParallelism
    {
        get => _loadParallelism;
        init => _loadParallelism = value >= 1 ? value
            : throw new ArgumentOutOfRangeException(nameof(LoadParallelism), $"CheckpointReaderOptions.LoadParallelism = {value}: expected a whole number of at least 1");
    }

    /// <summary>What a load does about mismatched keys when its call names no mode. Default <see cref="StrictHandling.AssumeOkUnexpected"/>.</summary>
    public StrictHandling Strict { get; init; } = StrictHandling.AssumeOkUnexpected;

    /// <summary>Where the <c>Log*</c> strictness modes report mismatched keys; standard error when null.</summary>
    public ILogger? Logger { get; init; }
}


namespace ActorCkpt;

/// <summary>
/// A writer's attempt at a file failed and will be retried. Thrown inside <see cref="WriterActor"/>
/// so that its supervisor (<see cref="WriterPoolActor"/>) restarts it (directive: Restart); the
/// writer then re-sends itself the request after a backoff.
/// </summary>
internal sealed class WriteFileException(string file, int attempt, Exception cause)
    : ActorCkptException($"attempt {attempt} at '{file}' failed: {cause.Message}", cause)
{
    /// <summary>The data file.</summary>
    public string File { get; } = file;

    /// <summary>The attempt that failed (1-based).</summary>
    public int Attempt { get; } = attempt;
}

namespace ActorCkpt;

/// <summary>A replica a host says it holds: of which attempt at which step, and which data file.</summary>
/// <param name="Step">The step.</param>
/// <param name="SaveId">The attempt that wrote it (data file names carry the attempt's tag as well).</param>
/// <param name="File">The data file it is a copy of.</param>
internal sealed record HeldCopy(long Step, Guid SaveId, string File);

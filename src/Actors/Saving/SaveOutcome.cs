namespace ActorCkpt;

/// <summary>How a save ended, as <c>FinalizeAsync</c> reports it.</summary>
/// <param name="Step">The step.</param>
/// <param name="Rank">The rank.</param>
/// <param name="Status">How it ended: committed, failed, skipped or cancelled.</param>
/// <param name="Result">What was written, when committed.</param>
/// <param name="Reason">Why it failed, was skipped or was cancelled.</param>
public sealed record SaveOutcome(long Step, int Rank, SaveStatus Status, SaveResult? Result, string? Reason)
{
    /// <summary>The outcome of a finished <paramref name="handle"/>.</summary>
    internal static SaveOutcome Of(SaveHandle handle) =>
        new(handle.Step, handle.Rank, handle.Status,
            handle.Status == SaveStatus.Committed ? handle.Committed.Result : null,
            handle.Status == SaveStatus.Committed ? null : handle.SkipReason ?? handle.Committed.Exception?.InnerException?.Message ?? "cancelled");
}

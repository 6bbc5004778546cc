namespace ActorCkpt.Actors;

/// <summary>How a save ended, as <see cref="CheckpointNode.FinalizeAsync"/> reports it.</summary>
/// <param name="Step">The step.</param>
/// <param name="Rank">The rank.</param>
/// <param name="Status">"committed", "failed" or "skipped".</param>
/// <param name="Summary">What was written, when committed.</param>
/// <param name="Reason">Why it failed or was skipped.</param>
public sealed record SaveOutcome(long Step, int Rank, string Status, SaveSummary? Summary, string? Reason)
{
    /// <summary>The outcome of a finished <paramref name="handle"/>.</summary>
    public static SaveOutcome Of(SaveHandle handle) =>
        handle.Committed.IsCompletedSuccessfully
            ? new SaveOutcome(handle.Step, handle.Rank, "committed", handle.Committed.Result, null)
            : new SaveOutcome(handle.Step, handle.Rank, handle.SkipReason is null ? "failed" : "skipped", null,
                handle.SkipReason ?? handle.Committed.Exception?.InnerException?.Message);
}

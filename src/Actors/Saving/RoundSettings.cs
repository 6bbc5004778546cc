namespace ActorCkpt;

/// <summary>What the save rounds need to know of the settings.</summary>
/// <param name="PlanTimeout">How long a round waits for every local plan and a writer.</param>
/// <param name="WriteTimeout">How long it waits for every write report.</param>
/// <param name="Planning">Dedup, placement and files per rank.</param>
internal sealed record RoundSettings(TimeSpan PlanTimeout, TimeSpan WriteTimeout, SavePlanSettings Planning);

namespace ActorCkpt;

/// <summary>The budget's answer to a memory round about to start (<see cref="MemoryBudget.Admit"/>).</summary>
/// <param name="Evict">Steps to evict before the round, oldest first; empty when refused (a refused round frees nothing).</param>
/// <param name="Refusal">Null when the round fits; otherwise one line naming the host, the bytes needed, its budget and what is protected.</param>
internal sealed record Admission(IReadOnlyList<long> Evict, string? Refusal)
{
    /// <summary>True when the round may start (after evicting <see cref="Evict"/>).</summary>
    public bool Admitted => Refusal is null;
}

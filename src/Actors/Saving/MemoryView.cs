namespace ActorCkpt;

/// <summary>
/// What a memory round needs to know of the cluster's holders when it is planned (from the planner's
/// <see cref="HolderDirectory{TRef}"/> and the catalog).
/// </summary>
/// <param name="WritersByHost">Each host with a live holder and the writers on its nodes, in registration order.</param>
/// <param name="HostOfNode">The host of a node (by its address), or null for a node with no holder.</param>
/// <param name="Held">The memory steps held now, as the budget sees them.</param>
/// <param name="Budget">The hosts' budgets and the eviction rules.</param>
/// <typeparam name="TRef">A writer: an actor reference in the actor, a string in the specs.</typeparam>
internal sealed record MemoryView<TRef>(
    IReadOnlyDictionary<string, IReadOnlyList<TRef>> WritersByHost,
    Func<string, string?> HostOfNode,
    IReadOnlyList<HeldStep> Held,
    MemoryBudget Budget);

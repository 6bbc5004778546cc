namespace ActorCkpt;

/// <summary>The step a load reads and from where (<see cref="LoadSources.Choose"/>).</summary>
/// <param name="Step">The step.</param>
/// <param name="Tier">Memory or disk.</param>
/// <param name="Holders">Per data file, the hosts to try in order (own host first, then placement order, only live and not lost); empty for disk.</param>
/// <param name="PassedOver">Why newer steps, or the memory copy of this one, were not taken; one line each.</param>
internal sealed record LoadChoice(
    long Step,
    StorageTier Tier,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Holders,
    IReadOnlyList<string> PassedOver);

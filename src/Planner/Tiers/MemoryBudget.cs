namespace ActorCkpt;

/// <summary>
/// What the memory tier holds: which committed steps leave after a commit or a persist
/// (<see cref="Trim"/>), and what must leave, or whether a round is refused, before a round that
/// needs room (<see cref="Admit"/>). Protected steps never leave: the newest committed step (a
/// load needs something until a newer step commits), every step still in flight, every pinned
/// step (leased by a load or being persisted). Eviction goes oldest first.
/// </summary>
/// <param name="BudgetByHost">Bytes each host may hold; a host without an entry is unlimited.</param>
/// <param name="KeepLast">Most committed steps held; 0 bounds them by the budget only.</param>
/// <param name="KeepPersisted">Off: a step persisted to disk leaves memory as soon as it is no longer protected.</param>
internal sealed record MemoryBudget(IReadOnlyDictionary<string, long> BudgetByHost, int KeepLast, bool KeepPersisted)
{
    /// <summary>Bytes each host may hold, each positive.</summary>
    public IReadOnlyDictionary<string, long> BudgetByHost { get; } = CheckBudgets(BudgetByHost);

    /// <summary>Most committed steps held, 0 or more.</summary>
    public int KeepLast { get; } = KeepLast >= 0
        ? KeepLast
        : throw new ArgumentOutOfRangeException(nameof(KeepLast), $"actorckpt.tiers.memory.keep-last is {KeepLast}; it must be 0 (budget only) or more");

    /// <summary>
    /// After a commit or a persist: committed steps to evict now, oldest first. Unprotected steps
    /// outside the newest <see cref="KeepLast"/> committed ones go, and with
    /// <see cref="KeepPersisted"/> off every unprotected persisted one; then, while a host holds more
    /// than its budget (a budget lowered across a restart, a round larger than admitted), the oldest
    /// unprotected step with bytes there.
    /// </summary>
    public IReadOnlyList<long> Trim(IReadOnlyList<HeldStep> held) => Trimmed(held).Select(t => t.Step).ToArray();

    /// <summary>
    /// <see cref="Trim"/>'s steps, each with why it goes, in the words the catalog and <c>ls</c> show:
    /// keep-last, on disk with keep-persisted off, or the hosts over budget when it went; a step that
    /// is on disk says so whatever the reason, since an operator decides from it whether the step is gone.
    /// </summary>
    public IReadOnlyList<(long Step, string Why)> Trimmed(IReadOnlyList<HeldStep> held)
    {
        var evict = Policy(held);
        var reasons = evict.ToDictionary(step => step, step => PolicyReason(held.First(h => h.Step == step), held));
        Pressure(held, evict, Empty, reasons);
        return evict.Order().Select(step => (step, held.First(h => h.Step == step) is { Persisted: true } && !reasons[step].StartsWith(OnDisk, StringComparison.Ordinal)
            ? reasons[step] + "; it is still on disk"
            : reasons[step])).ToArray();
    }

    private const string OnDisk = "it is on disk and a newer memory step is held";

    /// <summary>Why <see cref="Policy"/> lets <paramref name="step"/> go: outside keep-last first, else persisted.</summary>
    private string PolicyReason(HeldStep step, IReadOnlyList<HeldStep> held) =>
        KeepLast > 0 && held.Count(h => h.Committed && h.Step > step.Step) >= KeepLast
            ? $"the memory tier keeps the newest {KeepLast} steps (actorckpt.tiers.memory.keep-last)"
            : OnDisk + " (actorckpt.tiers.memory.keep-persisted = off)";

    /// <summary>
    /// Before a round needing <paramref name="incoming"/> bytes per host: <see cref="Trim"/>'s steps,
    /// then, while a host is over budget (held + incoming &gt; budget), the oldest unprotected step
    /// holding bytes on an over-budget host, all oldest first, so every host fits. Refused when a
    /// host's incoming bytes exceed its whole budget, or when nothing evictable is left on a host
    /// still over; the refusal names the host, the bytes needed, its budget and what is protected,
    /// and evicts nothing (evicting would not make the round fit).
    /// </summary>
    public Admission Admit(IReadOnlyList<HeldStep> held, IReadOnlyDictionary<string, long> incoming)
    {
        foreach (var (host, bytes) in incoming)
        {
            if (bytes < 0) throw new ArgumentOutOfRangeException(nameof(incoming), $"the round needs {bytes} bytes on host {host}; a size is 0 or more");
        }
        var evict = Policy(held);
        foreach (var host in incoming.Keys.Order(StringComparer.Ordinal))
        {
            if (BudgetByHost.TryGetValue(host, out var whole) && incoming[host] > whole)
                return Refused($"memory budget: host {host} needs {incoming[host]} bytes for this round; its whole budget is {whole} bytes");
        }
        return Pressure(held, evict, incoming) is { } refusal ? Refused(refusal) : new Admission(evict.Order().ToArray(), null);
    }

    /// <summary>The steps the policy evicts whatever the bytes: outside keep-last, or persisted with keep-persisted off.</summary>
    private HashSet<long> Policy(IReadOnlyList<HeldStep> held)
    {
        Check(held);
        var newest = NewestCommitted(held);
        var keptByCount = KeepLast == 0
            ? null
            : held.Where(h => h.Committed).Select(h => h.Step).OrderDescending().Take(KeepLast).ToHashSet();
        return held
            .Where(h => !IsProtected(h, newest))
            .Where(h => (keptByCount is not null && !keptByCount.Contains(h.Step)) || (h.Persisted && !KeepPersisted))
            .Select(h => h.Step)
            .ToHashSet();
    }

    /// <summary>
    /// Adds to <paramref name="evict"/>, oldest first, the unprotected steps with bytes on a host
    /// over budget until every host fits with <paramref name="incoming"/>; a refusal line when one cannot.
    /// </summary>
    private string? Pressure(IReadOnlyList<HeldStep> held, HashSet<long> evict, IReadOnlyDictionary<string, long> incoming, Dictionary<long, string>? reasons = null)
    {
        var newest = NewestCommitted(held);
        var used = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var step in held.Where(h => !evict.Contains(h.Step)))
        {
            foreach (var (host, bytes) in step.BytesByHost) used[host] = used.GetValueOrDefault(host) + bytes;
        }

        var candidates = held.Where(h => !evict.Contains(h.Step) && !IsProtected(h, newest)).OrderBy(h => h.Step).ToList();
        while (OverBudget(used, incoming) is { Count: > 0 } overs)
        {
            var victim = candidates.FirstOrDefault(h => overs.Any(host => h.BytesByHost.GetValueOrDefault(host) > 0));
            if (victim is null)
            {
                var over = overs[0];
                var protectedHere = held
                    .Where(h => !evict.Contains(h.Step) && h.BytesByHost.GetValueOrDefault(over) > 0)
                    .OrderBy(h => h.Step)
                    .Select(h => $"step {h.Step} ({Why(h, newest)}, {h.BytesByHost[over]} bytes)")
                    .ToList();
                return $"memory budget: host {over} needs {incoming.GetValueOrDefault(over)} bytes for this round beside the {used.GetValueOrDefault(over)} it holds; " +
                       $"its budget is {BudgetByHost[over]} bytes and nothing there may be evicted: {Problems.Line(protectedHere)}";
            }
            candidates.Remove(victim);
            evict.Add(victim.Step);
            if (reasons is not null)
            {
                var hosts = overs.Where(host => victim.BytesByHost.GetValueOrDefault(host) > 0).ToList();
                reasons[victim.Step] = hosts.Count == 1
                    ? $"host {hosts[0]} held more than its memory budget (actorckpt.tiers.memory.budget)"
                    : $"hosts {string.Join(", ", hosts)} held more than their memory budgets (actorckpt.tiers.memory.budget)";
            }
            foreach (var (host, bytes) in victim.BytesByHost) used[host] -= bytes;
        }
        return null;
    }

    /// <summary>The hosts (ordinally) whose held and incoming bytes exceed their budget.</summary>
    private List<string> OverBudget(Dictionary<string, long> used, IReadOnlyDictionary<string, long> incoming) =>
        BudgetByHost.Keys
            .Where(host => used.GetValueOrDefault(host) + incoming.GetValueOrDefault(host) > BudgetByHost[host])
            .Order(StringComparer.Ordinal)
            .ToList();

    private static readonly IReadOnlyDictionary<string, long> Empty = new Dictionary<string, long>();

    private static Admission Refused(string why) => new(Array.Empty<long>(), why);

    private static long? NewestCommitted(IReadOnlyList<HeldStep> held) =>
        held.Where(h => h.Committed).Select(h => (long?)h.Step).Max();

    private static bool IsProtected(HeldStep step, long? newestCommitted) =>
        step.Step == newestCommitted || !step.Committed || step.Pinned;

    /// <summary>Why a protected step stays, for a refusal.</summary>
    private static string Why(HeldStep step, long? newestCommitted)
    {
        var reasons = new List<string>(3);
        if (step.Step == newestCommitted) reasons.Add("newest committed");
        if (!step.Committed) reasons.Add("in flight");
        if (step.Pinned) reasons.Add("pinned");
        return string.Join(", ", reasons);
    }

    private static void Check(IReadOnlyList<HeldStep> held)
    {
        var seen = new HashSet<long>();
        foreach (var step in held)
        {
            if (!seen.Add(step.Step)) throw new ArgumentException($"step {step.Step} is listed twice among the held memory steps", nameof(held));
            foreach (var (host, bytes) in step.BytesByHost)
            {
                if (bytes < 0) throw new ArgumentException($"step {step.Step} holds {bytes} bytes on host {host}; a size is 0 or more", nameof(held));
            }
        }
    }

    private static IReadOnlyDictionary<string, long> CheckBudgets(IReadOnlyDictionary<string, long> budgets)
    {
        foreach (var (host, bytes) in budgets)
        {
            if (bytes <= 0) throw new ArgumentOutOfRangeException(nameof(BudgetByHost), $"the memory budget of host {host} is {bytes} bytes; it must be positive");
        }
        return budgets;
    }
}

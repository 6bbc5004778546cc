using FsCheck.Xunit;

namespace ActorCkpt.Planner.Tests;

/// <summary>
/// What the memory tier keeps and evicts: oldest first, never a protected step (the newest committed,
/// one in flight, a pinned one), keep-last, persisted steps leaving early, only steps on the host
/// that is over budget, and refusals that say what is in the way.
/// </summary>
public class MemoryBudgetSpec
{
    private const string H0 = "h0", H1 = "h1";

    private static HeldStep Committed(long step, long bytes = 100, bool persisted = false, bool pinned = false) =>
        new(step, true, persisted, pinned, new Dictionary<string, long> { [H0] = bytes });

    private static HeldStep InFlight(long step, long bytes = 100) =>
        new(step, false, false, false, new Dictionary<string, long> { [H0] = bytes });

    private static MemoryBudget Budget(long h0, int keepLast = 0, bool keepPersisted = true) =>
        new(new Dictionary<string, long> { [H0] = h0 }, keepLast, keepPersisted);

    private static Dictionary<string, long> Incoming(long h0) => new() { [H0] = h0 };

    [Fact]
    public void The_budget_should_evict_oldest_first()
    {
        var held = new[] { Committed(3), Committed(1), Committed(2) };
        var budget = Budget(300);

        Assert.Equal(new Admission([1], null), budget.Admit(held, Incoming(100)), AdmissionEquality.Instance);
        Assert.Equal(new long[] { 1, 2 }, budget.Admit(held, Incoming(200)).Evict);
        Assert.Empty(budget.Admit(held, Incoming(0)).Evict);
        Assert.True(budget.Admit(held, Incoming(200)).Admitted);
    }

    [Fact]
    public void With_a_budget_for_one_step_the_newest_committed_should_stay_and_the_round_be_refused()
    {
        var admission = Budget(100).Admit([Committed(1)], Incoming(100));

        Assert.False(admission.Admitted);
        Assert.Empty(admission.Evict);
        Assert.Equal(
            "memory budget: host h0 needs 100 bytes for this round beside the 100 it holds; its budget is 100 bytes and nothing there may be evicted: step 1 (newest committed, 100 bytes)",
            admission.Refusal);
    }

    [Fact]
    public void The_newest_committed_should_stay_until_a_newer_step_commits_then_trim_evicts_it()
    {
        // The rule with keep-last 1: step 2 in flight keeps step 1; step 2 committed lets it go.
        var budget = Budget(1000, keepLast: 1);
        Assert.Empty(budget.Trim([Committed(1), InFlight(2)]));
        Assert.Equal(new long[] { 1 }, budget.Trim([Committed(1), Committed(2)]));

        // And under pressure alone (keep-last 0): a host held over its budget once step 2 is in.
        var tight = Budget(150);
        Assert.Empty(tight.Trim([Committed(1), InFlight(2)]));
        Assert.Equal(new long[] { 1 }, tight.Trim([Committed(1), Committed(2)]));
    }

    [Fact]
    public void Each_step_trim_evicts_should_say_why_it_went_and_whether_it_is_still_on_disk()
    {
        // Before, every eviction after a commit said "keeps the newest N steps and lets steps on disk go",
        // also of steps that were never on disk (a memory-only step gone for good).
        HeldStep[] held = [Committed(1), Committed(2, persisted: true), Committed(3), Committed(4), Committed(5)];
        Assert.Equal(
            [(1, "the memory tier keeps the newest 3 steps (actorckpt.tiers.memory.keep-last)"),
             (2, "the memory tier keeps the newest 3 steps (actorckpt.tiers.memory.keep-last); it is still on disk")],
            Budget(10_000, keepLast: 3, keepPersisted: false).Trimmed(held));

        Assert.Equal(
            [(1L, "it is on disk and a newer memory step is held (actorckpt.tiers.memory.keep-persisted = off)")],
            Budget(10_000, keepLast: 3, keepPersisted: false).Trimmed([Committed(1, persisted: true), Committed(2)]));

        // Under pressure: the hosts over budget when the step went, not those a step evicted before it relieved.
        var budgets = new MemoryBudget(new Dictionary<string, long> { [H0] = 150, [H1] = 150 }, 0, KeepPersisted: false);
        HeldStep[] twoHosts =
        [
            new(1, true, true, false, new Dictionary<string, long> { [H1] = 100 }),
            new(2, true, false, false, new Dictionary<string, long> { [H0] = 100, [H1] = 60 }),
            new(3, true, false, false, new Dictionary<string, long> { [H0] = 100 }),
        ];
        Assert.Equal(
            [(1, "it is on disk and a newer memory step is held (actorckpt.tiers.memory.keep-persisted = off)"),
             (2, "host h0 held more than its memory budget (actorckpt.tiers.memory.budget)")],
            budgets.Trimmed(twoHosts));
        Assert.Equal(new long[] { 1, 2 }, budgets.Trim(twoHosts));
    }

    [Fact]
    public void In_flight_and_pinned_steps_should_survive_and_a_refusal_should_name_what_is_protected()
    {
        HeldStep[] held = [Committed(1, pinned: true), Committed(2), InFlight(3), Committed(4)];
        var budget = Budget(500);

        Assert.Equal(new long[] { 2 }, budget.Admit(held, Incoming(200)).Evict);

        var refused = budget.Admit(held, Incoming(300));
        Assert.Empty(refused.Evict);
        Assert.Equal(
            "memory budget: host h0 needs 300 bytes for this round beside the 300 it holds; its budget is 500 bytes and nothing there may be evicted: " +
            "step 1 (pinned, 100 bytes); step 3 (in flight, 100 bytes); step 4 (newest committed, 100 bytes)",
            refused.Refusal);

        Assert.Equal(new long[] { 2 }, Budget(1000, keepLast: 1).Trim(held));
        Assert.Equal("step 5 (newest committed, pinned, 100 bytes)", Budget(100).Admit([Committed(5, pinned: true)], Incoming(50)).Refusal!.Split(": ")[^1]);
    }

    [Fact]
    public void Keep_last_2_should_keep_the_two_newest_committed_steps()
    {
        var budget = Budget(1_000_000, keepLast: 2);
        Assert.Equal(new long[] { 1, 2, 3 }, budget.Trim([Committed(5), Committed(1), Committed(4), Committed(3), Committed(2)]));
        // A step in flight is not one of the kept committed ones, nor evicted.
        Assert.Equal(new long[] { 1 }, budget.Trim([Committed(1), Committed(2), Committed(3), InFlight(4)]));
        Assert.Empty(budget.Trim([Committed(1), Committed(2)]));
        // Keep-last 0: bounded by the budget only.
        Assert.Empty(Budget(1_000_000).Trim([Committed(1), Committed(2), Committed(3)]));
    }

    [Fact]
    public void A_persisted_step_should_leave_at_once_with_keep_persisted_off_and_only_under_pressure_with_it_on()
    {
        HeldStep[] held = [Committed(1, persisted: true), Committed(2), Committed(3, persisted: true)];

        // Off: step 1 goes now; step 3, newest committed, stays although persisted.
        var off = Budget(1000, keepPersisted: false);
        Assert.Equal(new long[] { 1 }, off.Trim(held));
        Assert.Equal(new long[] { 1 }, off.Admit(held, Incoming(0)).Evict);

        // On: nothing goes until the budget needs room.
        var on = Budget(300, keepPersisted: true);
        Assert.Empty(on.Trim(held));
        Assert.Empty(on.Admit(held, Incoming(0)).Evict);
        Assert.Equal(new long[] { 1 }, on.Admit(held, Incoming(100)).Evict);

        // A pinned persisted step (being read) stays even with keep-persisted off.
        Assert.Empty(off.Trim([Committed(1, persisted: true, pinned: true), Committed(2)]));
    }

    [Fact]
    public void Only_steps_with_bytes_on_the_over_budget_host_should_be_evicted()
    {
        var budget = new MemoryBudget(new Dictionary<string, long> { [H0] = 200, [H1] = 1000 }, 0, true);
        HeldStep[] held =
        [
            new(1, true, false, false, new Dictionary<string, long> { [H1] = 100 }),
            new(2, true, false, false, new Dictionary<string, long> { [H0] = 100, [H1] = 100 }),
            new(3, true, false, false, new Dictionary<string, long> { [H0] = 100 }),
        ];

        Assert.Equal(new Admission([2], null), budget.Admit(held, Incoming(100)), AdmissionEquality.Instance);
        Assert.Empty(budget.Admit(held, new Dictionary<string, long> { [H1] = 700 }).Evict);
        Assert.Equal(new long[] { 1 }, budget.Admit(held, new Dictionary<string, long> { [H1] = 900 }).Evict);
    }

    [Fact]
    public void Incoming_bytes_over_a_hosts_whole_budget_should_be_refused_at_once_and_a_host_without_a_budget_is_unlimited()
    {
        var budget = Budget(100);
        var refused = budget.Admit([Committed(1, bytes: 10), Committed(2, bytes: 10)], Incoming(150));
        Assert.Empty(refused.Evict);
        Assert.Equal("memory budget: host h0 needs 150 bytes for this round; its whole budget is 100 bytes", refused.Refusal);

        var unlimited = budget.Admit([new HeldStep(1, true, false, false, new Dictionary<string, long> { ["h9"] = long.MaxValue / 2 })],
            new Dictionary<string, long> { ["h9"] = long.MaxValue / 4 });
        Assert.Equal(new Admission([], null), unlimited, AdmissionEquality.Instance);
    }

    [Fact]
    public void A_refused_round_should_evict_nothing_not_even_what_keep_last_would()
    {
        var budget = Budget(200, keepLast: 1);
        HeldStep[] held = [Committed(1), Committed(2, pinned: true), Committed(3)];
        Assert.Equal(new long[] { 1 }, budget.Trim(held));
        var admission = budget.Admit(held, Incoming(100));
        Assert.False(admission.Admitted);
        Assert.Empty(admission.Evict);
    }

    [Fact]
    public void Bad_inputs_should_throw_one_line_naming_them()
    {
        Assert.StartsWith("actorckpt.tiers.memory.keep-last is -1; it must be 0 (budget only) or more",
            Assert.Throws<ArgumentOutOfRangeException>(() => Budget(100, keepLast: -1)).Message);
        Assert.StartsWith("the memory budget of host h0 is 0 bytes; it must be positive",
            Assert.Throws<ArgumentOutOfRangeException>(() => Budget(0)).Message);
        Assert.StartsWith("step 1 is listed twice among the held memory steps",
            Assert.Throws<ArgumentException>(() => Budget(100).Trim([Committed(1), Committed(1)])).Message);
        Assert.StartsWith("step 1 holds -5 bytes on host h0; a size is 0 or more",
            Assert.Throws<ArgumentException>(() => Budget(100).Admit([Committed(1, bytes: -5)], Incoming(0))).Message);
        Assert.StartsWith("the round needs -1 bytes on host h0; a size is 0 or more",
            Assert.Throws<ArgumentOutOfRangeException>(() => Budget(100).Admit([], Incoming(-1))).Message);
        // One line each: before, .NET added "Actual value was -1." on a second.
        Assert.DoesNotContain('\n', Assert.Throws<ArgumentOutOfRangeException>(() => Budget(100, keepLast: -1)).Message);
        Assert.DoesNotContain('\n', Assert.Throws<ArgumentOutOfRangeException>(() => Budget(100).Admit([], Incoming(-1))).Message);
    }

    /// <summary>
    /// Random held steps on three hosts: Trim and Admit never evict a protected step; Trim leaves no
    /// host over budget while something there may go; an admission lists its
    /// evictions oldest first and leaves every host within budget; a
    /// refusal evicts nothing and is justified (even evicting every unprotected step would not fit).
    /// </summary>
    [Property(MaxTest = 500)]
    public void Admissions_should_never_evict_a_protected_step_and_always_fit_or_be_justly_refused(int seed)
    {
        var random = new Random(seed);
        string[] hosts = ["a", "b", "c"];
        var held = Enumerable.Range(1, random.Next(0, 9))
            .Select(step => new HeldStep(step, random.Next(5) != 0, random.Next(3) == 0, random.Next(6) == 0,
                hosts.Where(_ => random.Next(2) == 0).ToDictionary(h => h, _ => (long)random.Next(0, 100))))
            .ToArray();
        var budget = new MemoryBudget(hosts.Where(_ => random.Next(4) != 0).ToDictionary(h => h, _ => (long)random.Next(1, 400)),
            random.Next(0, 4), random.Next(2) == 0);
        var incoming = hosts.Where(_ => random.Next(2) == 0).ToDictionary(h => h, _ => (long)random.Next(0, 200));

        var newest = held.Where(h => h.Committed).Select(h => (long?)h.Step).Max();
        bool Protected(HeldStep h) => h.Step == newest || !h.Committed || h.Pinned;
        long Used(string host, IEnumerable<HeldStep> steps) => steps.Sum(h => h.BytesByHost.GetValueOrDefault(host));

        var trim = budget.Trim(held);
        Assert.Equal(trim.Order(), trim);
        Assert.DoesNotContain(held, h => Protected(h) && trim.Contains(h.Step));
        // A host left over budget by Trim has nothing evictable left on it.
        var trimmed = held.Where(h => !trim.Contains(h.Step)).ToArray();
        foreach (var (host, limit) in budget.BudgetByHost.Where(b => Used(b.Key, trimmed) > b.Value))
            Assert.DoesNotContain(trimmed, h => !Protected(h) && h.BytesByHost.GetValueOrDefault(host) > 0);

        var admission = budget.Admit(held, incoming);
        if (admission.Admitted)
        {
            Assert.Equal(admission.Evict.Order(), admission.Evict);
            Assert.DoesNotContain(held, h => Protected(h) && admission.Evict.Contains(h.Step));
            var kept = held.Where(h => !admission.Evict.Contains(h.Step)).ToArray();
            foreach (var (host, limit) in budget.BudgetByHost) Assert.True(Used(host, kept) + incoming.GetValueOrDefault(host) <= limit, $"{host} over budget");
        }
        else
        {
            Assert.Empty(admission.Evict);
            var protectedOnly = held.Where(Protected).ToArray();
            Assert.Contains(budget.BudgetByHost, b => Used(b.Key, protectedOnly) + incoming.GetValueOrDefault(b.Key) > b.Value);
        }
    }

    /// <summary>Admissions compared by value (their lists are arrays, compared by reference by the record).</summary>
    private sealed class AdmissionEquality : IEqualityComparer<Admission>
    {
        public static AdmissionEquality Instance { get; } = new();

        public bool Equals(Admission? x, Admission? y) => x!.Evict.SequenceEqual(y!.Evict) && x.Refusal == y.Refusal;

        public int GetHashCode(Admission obj) => obj.Refusal?.GetHashCode() ?? 0;
    }
}

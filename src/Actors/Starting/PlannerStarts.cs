using System.Globalization;

namespace ActorCkpt;

/// <summary>What <see cref="PlannerStarts"/> decides when a planner failed to start.</summary>
internal abstract record PlannerStartDecision
{
    private PlannerStartDecision()
    {
    }

    /// <summary>Start the planner again after <paramref name="Backoff"/>; <paramref name="Line"/> is logged once.</summary>
    public sealed record RetryAfter(TimeSpan Backoff, string Line) : PlannerStartDecision;

    /// <summary>Stop trying: every save and load of this planner is answered with <paramref name="Why"/>.</summary>
    public sealed record GiveUp(string Why) : PlannerStartDecision;
}

/// <summary>
/// Counts a planner's failed starts (its catalog lock refused, its journal's recovery failed) and
/// decides, for each, to try again after a doubling backoff (at most <see cref="MaxBackoff"/>) or to give up after
/// <paramref name="attempts"/> tries in a row, so a root that cannot be opened ends in one clear
/// error rather than a restart loop. A planner that started resets the count: a later failure is a
/// new run of tries. Pure: no actor, no clock.
/// </summary>
internal sealed class PlannerStarts(int attempts, TimeSpan firstBackoff)
{
    /// <summary>The longest wait between two tries, however many there are.</summary>
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    private int _failed;

    /// <summary>The tries allowed in a row.</summary>
    public int Attempts { get; } = attempts >= 1 ? attempts : throw new ArgumentOutOfRangeException(nameof(attempts), attempts, "at least 1");

    /// <summary>Failed starts since the last one that succeeded.</summary>
    public int FailedInARow => _failed;

    /// <summary>The planner recovered its catalog and runs.</summary>
    public void Started() => _failed = 0;

    /// <summary>The planner stopped before it had started, because of <paramref name="reason"/>.</summary>
    public PlannerStartDecision Failed(string reason)
    {
        _failed++;
        if (_failed >= Attempts)
            return new PlannerStartDecision.GiveUp(
                $"the checkpoint planner could not start ({_failed} {(_failed == 1 ? "try" : "tries")}): {reason}");
        var backoff = TimeSpan.FromTicks(Math.Min(firstBackoff.Ticks * (1L << Math.Min(_failed - 1, 20)), Math.Max(firstBackoff.Ticks, MaxBackoff.Ticks)));
        return new PlannerStartDecision.RetryAfter(backoff, string.Create(CultureInfo.InvariantCulture,
            $"the checkpoint planner could not start (try {_failed} of {Attempts}; next in {backoff.TotalSeconds:0.###} s): {reason}"));
    }
}

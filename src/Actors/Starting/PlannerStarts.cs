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

    /// <summary>
    /// Stop trying: every save and load of this planner is answered with <paramref name="Why"/>, until one
    /// more try after <paramref name="TryAgainAfter"/> when it is not null.
    /// </summary>
    public sealed record GiveUp(string Why, TimeSpan? TryAgainAfter = null) : PlannerStartDecision;
}

/// <summary>
/// Counts a planner's failed starts (its catalog lock refused, its journal's recovery failed) and
/// decides, for each, to try again after a doubling backoff (at most <see cref="MaxBackoff"/>) or to give up after
/// <paramref name="attempts"/> tries in a row, so a root that cannot be opened ends in one clear
/// error rather than a restart loop. Given up, it tries once more after <paramref name="startAgainAfter"/>
/// (unless zero), and again after each failed try: a catalog server back after a failover, or a root
/// freed by the job that held it, lets the planner start without a restart of the process. A planner that
/// started resets the count: a later failure is a new run of tries. Pure: no actor, no clock.
/// </summary>
internal sealed class PlannerStarts(int attempts, TimeSpan firstBackoff, TimeSpan startAgainAfter = default)
{
    /// <summary>The longest wait between two tries, however many there are.</summary>
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    private int _failed;

    /// <summary>The tries allowed in a row.</summary>
    public int Attempts { get; } = attempts >= 1 ? attempts : throw new ArgumentOutOfRangeException(nameof(attempts), $"attempts = {attempts}: at least 1");

    /// <summary>Failed starts since the last one that succeeded.</summary>
    public int FailedInARow => _failed;

    /// <summary>The planner recovered its catalog and runs.</summary>
    public void Started() => _failed = 0;

    /// <summary>The planner refused to start for a reason no later try changes (<see cref="PlannerStartFailed.Final"/>): give up now, for good.</summary>
    public PlannerStartDecision Refused(string reason)
    {
        _failed++;
        return new PlannerStartDecision.GiveUp($"the checkpoint planner could not start: {reason}");
    }

    /// <summary>
    /// The planner stopped before it had started, because of <paramref name="reason"/>; one that is not
    /// <paramref name="retryable"/> (it fails whenever it runs: a bug) is never tried again once given up.
    /// </summary>
    public PlannerStartDecision Failed(string reason, bool retryable = true)
    {
        _failed++;
        if (_failed >= Attempts)
        {
            var tries = $"{_failed} {(_failed == 1 ? "try" : "tries")}";
            return retryable && startAgainAfter > TimeSpan.Zero
                ? new PlannerStartDecision.GiveUp(string.Create(CultureInfo.InvariantCulture,
                    $"the checkpoint planner could not start ({tries}; it tries again every {startAgainAfter.TotalSeconds:0.###} s): {reason}"), startAgainAfter)
                : new PlannerStartDecision.GiveUp($"the checkpoint planner could not start ({tries}): {reason}");
        }
        var backoff = TimeSpan.FromTicks(Math.Min(firstBackoff.Ticks * (1L << Math.Min(_failed - 1, 20)), Math.Max(firstBackoff.Ticks, MaxBackoff.Ticks)));
        return new PlannerStartDecision.RetryAfter(backoff, string.Create(CultureInfo.InvariantCulture,
            $"the checkpoint planner could not start (try {_failed} of {Attempts}; next in {backoff.TotalSeconds:0.###} s): {reason}"));
    }
}

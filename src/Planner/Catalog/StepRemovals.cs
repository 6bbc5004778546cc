namespace ActorCkpt;

/// <summary>
/// The planner's bookkeeping of deletions, beside <see cref="RetentionPolicy"/> which decides them:
/// which deleted steps still have files, which of those are being removed, and who waits to hear a
/// garbage collection's outcome (<typeparamref name="TAsker"/>). A deleted step's files go only once no
/// load lease holds it, and not during the grace after a planner starts (loads that began under the
/// previous planner renew their leases then). The methods that may free a deleted step say which
/// steps' removal to start now, in the background; the caller reports each back with <see cref="Finished"/>.
/// Debris (<see cref="Recovered"/>, <see cref="Debris"/>) the caller removes at once and reports with <see cref="Removed"/>.
/// </summary>
/// <param name="retention">Which committed steps to keep.</param>
/// <param name="grace">True to hold every removal until <see cref="EndGrace"/>.</param>
internal sealed class StepRemovals<TAsker>(RetentionPolicy retention, bool grace)
{
    private static readonly long[] Nothing = Array.Empty<long>();
    // Deleted steps whose files are still there: removed once no lease holds them.
    private readonly SortedSet<long> _awaiting = new();
    private readonly HashSet<long> _removing = new();
    // What recovery and retention removed since the last collection's report, which tells it.
    private readonly SortedSet<long> _debrisRemoved = new();
    private readonly SortedSet<long> _deletedSinceReport = new();
    private readonly SortedDictionary<long, string> _refusedSinceReport = new();
    // Collections answered once the files of the steps they deleted are gone.
    private readonly List<(TAsker Asker, CollectionReport Report, HashSet<long> Pending, List<string> Failures)> _collections = new();

    /// <summary>True during the grace after start: no file of a deleted step is removed.</summary>
    public bool Holding { get; private set; } = grace;

    /// <summary>True while <paramref name="step"/>'s files are waiting to go or going: it cannot be saved again yet.</summary>
    public bool IsBusy(long step) => _awaiting.Contains(step) || _removing.Contains(step);

    /// <summary>True when a deleted step's files are still there and not being removed: a load under way may renew its lease.</summary>
    public bool CanRenew(long step) => _awaiting.Contains(step) && !_removing.Contains(step);

    /// <summary>
    /// Recovery found <paramref name="directories"/> to remove: a step the catalog records as deleted
    /// (<paramref name="isDeleted"/>) may still be read by a load that began under the previous planner,
    /// so its files go like any other deletion (after the grace, once no lease holds it); the rest is
    /// debris of saves that never committed, returned to remove now.
    /// </summary>
    public IReadOnlyList<long> Recovered(IEnumerable<long> directories, Func<long, bool> isDeleted)
    {
        var debris = new List<long>();
        foreach (var step in directories)
            if (isDeleted(step)) _awaiting.Add(step);
            else debris.Add(step);
        return debris;
    }

    /// <summary>The steps of <paramref name="uncommitted"/> (directories without metadata) that are debris: no save in flight (<paramref name="inFlight"/>) owns them and no deletion is under way.</summary>
    public IReadOnlyList<long> Debris(IEnumerable<long> uncommitted, Func<long, bool> inFlight) =>
        uncommitted.Where(s => !inFlight(s) && !IsBusy(s)).ToArray();

    /// <summary>The caller removed <paramref name="step"/>'s directory itself; <paramref name="asDebris"/> when it was left by a save that never committed.</summary>
    public void Removed(long step, bool asDebris)
    {
        _awaiting.Remove(step);
        if (asDebris) _debrisRemoved.Add(step);
    }

    /// <summary>
    /// The committed steps retention no longer keeps, each with the reason to journal; reported by the
    /// next collection. <paramref name="spare"/> (a step just committed) is kept this time whatever its age.
    /// <paramref name="keepLast"/> tightens keep-last for this call only (a collection asked to keep fewer).
    /// </summary>
    public IReadOnlyList<(long Step, string Reason)> Retain(IEnumerable<long> committedSteps, long? spare = null, int? keepLast = null)
    {
        var policy = keepLast is { } k && (retention.KeepLast == 0 || k < retention.KeepLast) ? retention with { KeepLast = k } : retention;
        var doomed = policy.StepsToDelete(committedSteps).Where(s => s != spare).ToArray();
        _deletedSinceReport.UnionWith(doomed);
        return doomed.Select(s => (s, policy.Reason(s))).ToArray();
    }

    /// <summary>
    /// The journal refused the deletion of <paramref name="step"/> (<paramref name="why"/>): the step
    /// stays committed with its files, and the next collection reports that instead of a deletion.
    /// </summary>
    public void Refused(long step, string why)
    {
        _deletedSinceReport.Remove(step);
        _refusedSinceReport[step] = $"step {step}: the catalog refused its deletion ({why}); the step stays";
    }

    /// <summary>The deletion of <paramref name="step"/> is journaled: its files go now unless a lease holds it.</summary>
    public IReadOnlyList<long> Deleted(long step, Func<long, bool> isLeased)
    {
        // Refused before, deleted now: the next report says deleted only.
        _refusedSinceReport.Remove(step);
        _awaiting.Add(step);
        return isLeased(step) ? Nothing : Start(new[] { step });
    }

    /// <summary>Every deleted step no lease holds.</summary>
    public IReadOnlyList<long> Unleased(Func<long, bool> isLeased) => Start(_awaiting.Where(s => !isLeased(s)).ToArray());

    /// <summary>The grace is over (or a collection does not wait it out): every deleted step no lease holds goes.</summary>
    public IReadOnlyList<long> EndGrace(Func<long, bool> isLeased)
    {
        Holding = false;
        return Unleased(isLeased);
    }

    /// <summary>No lease holds <paramref name="steps"/> any more: the deleted ones go.</summary>
    public IReadOnlyList<long> Freed(IEnumerable<long> steps) => Start(steps.Where(_awaiting.Contains).ToArray());

    /// <summary>
    /// A collection by <paramref name="asker"/>, after its debris and retention were handled: the
    /// report now when no deleted step's files are left, otherwise null and the report comes from
    /// <see cref="Finished"/> once they are gone.
    /// </summary>
    public CollectionReport? Collect(TAsker asker)
    {
        var report = new CollectionReport(_debrisRemoved.ToArray(), _deletedSinceReport.ToArray(), _refusedSinceReport.Values.ToArray());
        _debrisRemoved.Clear();
        _deletedSinceReport.Clear();
        _refusedSinceReport.Clear();
        if (_awaiting.Count == 0) return report;
        _collections.Add((asker, report, _awaiting.ToHashSet(), report.Failures.ToList()));
        return null;
    }

    /// <summary>
    /// The removal of <paramref name="step"/>'s files ended (<paramref name="error"/> null when they
    /// are gone). Either way nothing waits on the step any more: files that would not go are left for
    /// the next recovery or collection. Returns the collections that are now complete, with their reports.
    /// </summary>
    public IReadOnlyList<(TAsker Asker, CollectionReport Report)> Finished(long step, string? error)
    {
        _removing.Remove(step);
        _awaiting.Remove(step);
        var done = new List<(TAsker, CollectionReport)>();
        foreach (var c in _collections.Where(c => c.Pending.Remove(step)).ToList())
        {
            if (error is not null) c.Failures.Add($"step {step}: {error}");
            if (c.Pending.Count > 0) continue;
            done.Add((c.Asker, c.Report with { Failures = c.Failures }));
            _collections.Remove(c);
        }
        return done;
    }

    private IReadOnlyList<long> Start(IReadOnlyList<long> steps) => Holding ? Nothing : steps.Where(_removing.Add).ToArray();
}

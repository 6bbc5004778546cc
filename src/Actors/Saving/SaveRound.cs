namespace ActorCkpt;

/// <summary>
/// The planner's state of one attempt at saving a step: the ranks' plans and shards, the global plan
/// and its writers, the write reports, and why it was aborted. It holds data and answers questions;
/// <see cref="SaveRounds{TRef}"/> makes the decisions over it.
/// </summary>
/// <param name="step">The step.</param>
/// <param name="worldSize">Ranks expected, from the first local plan received.</param>
internal sealed class SaveRound<TRef>(long step, int worldSize) where TRef : notnull
{
    /// <summary>The step.</summary>
    public long Step { get; } = step;

    /// <summary>Identifies this attempt at the step; stale messages of other attempts carry other ids.</summary>
    public Guid SaveId { get; } = Guid.NewGuid();

    /// <summary>Tag of this attempt's data file names.</summary>
    public string FileTag => SaveId.ToString("N")[..8];

    /// <summary>Ranks expected.</summary>
    public int WorldSize { get; } = worldSize;

    /// <summary>Where the round stands.</summary>
    public RoundPhase Phase { get; set; }

    /// <summary>Local plans received, by rank.</summary>
    public SortedDictionary<int, SubmitLocalPlan> Plans { get; } = new();

    /// <summary>The shard of each rank that sent a plan.</summary>
    public Dictionary<int, TRef> Shards { get; } = new();

    /// <summary>The global plan and its writers, while its start is journaled.</summary>
    public (GlobalSavePlan Plan, IReadOnlyList<TRef> Writers)? Pending { get; set; }

    /// <summary>The global plan, once ranks were sent their files.</summary>
    public GlobalSavePlan? Plan { get; set; }

    /// <summary>The writers of the plan: a file's <see cref="FileWritePlan.WriterIndex"/> points here.</summary>
    public List<TRef> Writers { get; } = new();

    /// <summary>Write reports received, by rank.</summary>
    public Dictionary<int, ReportWrites> Reports { get; } = new();

    /// <summary>Why the round was aborted; null while it is alive.</summary>
    public string? AbortReason { get; set; }

    /// <summary>The tier the ranks asked for (the first plan's; a plan asking for another aborts the round).</summary>
    public SaveTier Requested { get; set; }

    /// <summary>Where the round writes and whether it persists afterwards, once planned.</summary>
    public TierChoice Choice { get; set; } = TierChoice.Disk;

    /// <summary>True for a round that writes to the memory tier.</summary>
    public bool InMemory => Choice.Round == StorageTier.Memory;

    /// <summary>A memory round's copies: every file on each of its hosts, and the writer of each (empty for disk).</summary>
    public IReadOnlyList<CopyAssignment<TRef>> Copies { get; set; } = Array.Empty<CopyAssignment<TRef>>();

    /// <summary>Plans of a new attempt at the same step, held until this aborted one has wound down.</summary>
    public List<(SubmitLocalPlan Plan, TRef Shard)> NextAttempt { get; } = new();

    /// <summary>
    /// Set when a rank cancelled the next attempt while this one wound down: why, and the ranks whose
    /// plans of that attempt are still to be refused (once each) as they come.
    /// </summary>
    public (string Reason, HashSet<int> Late)? NextAttemptCancelled { get; set; }

    /// <summary>Ranks that cancelled this attempt before sending their plan: no plan of theirs is coming, so none is refused later.</summary>
    public HashSet<int> NoPlanComing { get; } = new();

    /// <summary>True while the round may still commit.</summary>
    public bool Alive => AbortReason is null;

    /// <summary>True once ranks were sent their files (writers may be busy in the step directory).</summary>
    public bool Writing => Plan is not null;

    /// <summary>True when every rank that was sent files has reported back, or left with its node (an aborted round waits for no lost rank).</summary>
    public bool AllReported => Writing && Plans.Keys.All(r => Reports.ContainsKey(r) || LostRanks.Contains(r));

    /// <summary>Ranks whose node left the cluster before they reported: they never will.</summary>
    public SortedSet<int> LostRanks { get; } = new();

    /// <summary>Ranks that have not sent a plan.</summary>
    public IEnumerable<int> MissingPlans => Enumerable.Range(0, WorldSize).Where(r => !Plans.ContainsKey(r));

    /// <summary>Ranks that have not reported their writes.</summary>
    public IEnumerable<int> MissingReports => Plans.Keys.Where(r => !Reports.ContainsKey(r) && !LostRanks.Contains(r));

    /// <summary>True when every plan is in and nothing has begun: the round waits only for a writer.</summary>
    public bool ReadyToPlan => Phase == RoundPhase.Gathering && Alive && !MissingPlans.Any();

    /// <summary>The shards, in rank order.</summary>
    public IReadOnlyList<TRef> ShardList => Shards.OrderBy(s => s.Key).Select(s => s.Value).ToArray();
}

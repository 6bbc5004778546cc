using Akka.Actor;

namespace ActorCkpt;

/// <summary>The planner's record of one save in flight.</summary>
internal sealed class PlannerSave(long step, int worldSize)
{
    /// <summary>The step.</summary>
    public long Step { get; } = step;

    /// <summary>Identifies this attempt at the step; stale messages of other attempts carry other ids.</summary>
    public Guid SaveId { get; } = Guid.NewGuid();

    /// <summary>Tag of this attempt's data file names.</summary>
    public string FileTag => SaveId.ToString("N")[..8];

    /// <summary>Ranks expected, from the first local plan received.</summary>
    public int WorldSize { get; } = worldSize;

    /// <summary>Local plans received, by rank.</summary>
    public SortedDictionary<int, LocalSavePlan> Plans { get; } = new();

    /// <summary>Each rank's fingerprint of its plan.</summary>
    public SortedDictionary<int, ulong> Fingerprints { get; } = new();

    /// <summary>Shard actors of the ranks that sent a plan.</summary>
    public Dictionary<int, IActorRef> Shards { get; } = new();

    /// <summary>The global plan, once every local plan is in.</summary>
    public GlobalSavePlan? Plan { get; set; }

    /// <summary>The writers of the plan: a file's <see cref="FileWritePlan.WriterIndex"/> points here.</summary>
    public List<IActorRef> Writers { get; } = new();

    /// <summary>Write reports received, by rank.</summary>
    public Dictionary<int, ReportWrites> Reports { get; } = new();

    /// <summary>Why the save was aborted; null while it is alive.</summary>
    public string? AbortReason { get; set; }

    /// <summary>Plans of a new attempt at the same step, held until this aborted one has wound down.</summary>
    public List<(SubmitLocalPlan Plan, IActorRef Shard)> NextAttempt { get; } = new();

    /// <summary>The pending deadline (plans, then writes).</summary>
    public ICancelable? Deadline { get; set; }

    /// <summary>True while the start of writing is being journaled.</summary>
    public bool Starting { get; set; }

    /// <summary>True once every rank has been sent its writes.</summary>
    public bool Writing => Plan is not null;

    /// <summary>True when every rank that was sent writes has reported back.</summary>
    public bool AllReported => Writing && Reports.Count == Plans.Count;

    /// <summary>Ranks that have not sent a plan.</summary>
    public IEnumerable<int> MissingPlans => Enumerable.Range(0, WorldSize).Where(r => !Plans.ContainsKey(r));

    /// <summary>Ranks that have not reported their writes.</summary>
    public IEnumerable<int> MissingReports => Plans.Keys.Where(r => !Reports.ContainsKey(r));
}

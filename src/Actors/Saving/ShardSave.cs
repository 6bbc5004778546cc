
namespace ActorCkpt;

/// <summary>A shard actor's record of the save it is running.</summary>
internal sealed class ShardSave(long step, SaveHandle handle, StagedState staged)
{
    /// <summary>The step.</summary>
    public long Step { get; } = step;

    /// <summary>The caller's handle.</summary>
    public SaveHandle Handle { get; } = handle;

    /// <summary>The staged buffers and local plan.</summary>
    public StagedState Staged { get; } = staged;

    /// <summary>The message that submits the local plan (sent until a planner acknowledges it).</summary>
    public SubmitLocalPlan Submission { get; } = SubmitLocalPlan.Of(step, staged.Plan);

    /// <summary>
    /// Positions of the rank's tensor items that the assigned files leave to other ranks (known
    /// once writes are assigned); remembered if the save commits, so the next one need not stage them.
    /// </summary>
    public int[]? WrittenElsewhere { get; set; }

    /// <summary>The planner's id of this attempt, once writes are assigned.</summary>
    public Guid? SaveId { get; set; }

    /// <summary>Files handed to writers and not yet answered, by file name, with their current writer.</summary>
    public Dictionary<string, WriteAssignment> Outstanding { get; } = new(StringComparer.Ordinal);

    /// <summary>Writers known to be gone: their files will never be answered.</summary>
    public HashSet<Akka.Actor.IActorRef> LostWriters { get; } = new();

    /// <summary>Streams to remote writers still reading the staged buffers.</summary>
    public int ActiveStreams { get; set; }

    /// <summary>The planner that accepted the plan (watched: its loss fails the save).</summary>
    public Akka.Actor.IActorRef? Planner { get; set; }

    /// <summary>Files written.</summary>
    public List<FileWriteResult> Results { get; } = new();

    /// <summary>Files that failed for good ("file: cause").</summary>
    public List<string> Failures { get; } = new();

    /// <summary>True once the save's fate is known (committed, aborted, planner lost, or out of time).</summary>
    public bool Decided { get; set; }

    /// <summary>True once this rank asked the planner to abort the save (its caller cancelled it).</summary>
    public bool CancelSent { get; set; }

    /// <summary>True when writers read the caller's tensors where they are (no staged copy).</summary>
    public bool InPlace { get; init; }

    /// <summary>A failure or cancellation decided while writers may still read an in-place save's tensors: told once they are released.</summary>
    public Action? PendingVerdict { get; set; }

    /// <summary>Tells the caller the verdict held back, if any (once).</summary>
    public void DeliverVerdict()
    {
        var verdict = PendingVerdict;
        PendingVerdict = null;
        verdict?.Invoke();
    }

    /// <summary>True once the buffers went back to the pool.</summary>
    public bool Released { get; set; }
}

using Akka.Actor;
using Akka.Event;

namespace ActorCkpt;

/// <summary>
/// What the planner does to the checkpoint root, with the kill points crash tests stop at and the
/// log lines an operator reads: scans, step directories made and removed, the metadata commit and
/// the tracker. No decisions: the planner's state machines say what to do, this does it.
/// </summary>
internal sealed class PlannerFiles(CheckpointStore store, KillPoint killAt, ILoggingAdapter log)
{
    private readonly CheckpointStore _memory = store.MemorySteps();
    private readonly HashSet<Task<DeletionFinished>> _removing = [];

    /// <summary>The store of memory steps' metadata (<c>&lt;root&gt;/memory</c>).</summary>
    public CheckpointStore Memory => _memory;

    /// <summary>The root, for messages.</summary>
    public string Root => store.Blobs.Root;

    /// <summary>The root's checkpoints (what the object tier uploads from).</summary>
    public CheckpointStore Store => store;

    /// <summary>
    /// The step directories on disk (<paramref name="describe"/>: read the metadata of which); one that cannot be read
    /// is logged and left out (so left alone), and a load asking for it by number hears why (<see cref="LeftAlone"/>).
    /// </summary>
    public IReadOnlyList<StepOnDisk> Scan(Func<long, bool> describe)
    {
        var scan = store.ScanSteps(describe);
        foreach (var problem in scan.Unreadable) log.Warning("Left alone: {0}", problem);
        _leftAlone = scan.UnreadableSteps.ToDictionary(u => u.Step, u => u.Why);
        return scan.Steps;
    }

    private Dictionary<long, string> _leftAlone = new();

    /// <summary>Why the last scan left <paramref name="step"/>'s directory alone (its metadata could not be read), or null.</summary>
    public string? LeftAlone(long step) => _leftAlone.GetValueOrDefault(step);

    /// <summary>Why <paramref name="step"/> cannot be written now (<paramref name="beingDeleted"/>, or committed already), or null.</summary>
    public string? WhyNotWritable(long step, bool beingDeleted)
    {
        try
        {
            if (store.IsCommitted(step)) return new StepAlreadyCommittedException(step, Root).Message;
            return beingDeleted ? $"step {step} is being deleted; save it again once its files are gone" : null;
        }
        catch (Exception e)
        {
            return ErrorText.Of(e);
        }
    }

    /// <summary>Makes the step's directory; the reason it could not, or null.</summary>
    public string? Prepare(long step)
    {
        try
        {
            store.PrepareStep(step);
            killAt.Reached("planned", step);
            return null;
        }
        catch (Exception e)
        {
            return ErrorText.Of(e);
        }
    }

    /// <summary>
    /// Writes the metadata of <paramref name="commit"/> under its temporary name, fsyncs it and renames
    /// it into place (the commit point). Returns its checksum and what was written, or why it failed.
    /// </summary>
    public (string Checksum, SaveSummary Summary, string? Failure) Commit(RoundDecision<IActorRef>.CommitStep commit)
    {
        killAt.Reached("all-written", commit.Step);
        try
        {
            var metadata = MetadataBuilder.Build(commit.Step, commit.Plan, commit.Results, DateTimeOffset.UtcNow);
            var checksum = store.StageMetadata(metadata);
            killAt.Reached("metadata-written", commit.Step);
            store.PublishMetadata(commit.Step);
            killAt.Reached("renamed", commit.Step);
            return (checksum, new SaveSummary(commit.Step, metadata.Files.Count, metadata.TotalFileBytes), null);
        }
        catch (Exception e)
        {
            return ("", new SaveSummary(commit.Step, 0, 0), "commit failed: " + e.Message);
        }
    }

    /// <summary>
    /// Writes the memory metadata of <paramref name="commit"/> under <c>&lt;root&gt;/memory</c> (staged and
    /// renamed, as a disk step's). The memory step commits only when its <see cref="MemoryStepCommitted"/>
    /// is journaled. Returns the metadata's checksum, what was written and who holds it, or why it failed.
    /// </summary>
    public (SaveSummary Summary, MemoryCopies? Copies, string? Failure) CommitMemory(RoundDecision<IActorRef>.CommitMemoryStep commit)
    {
        killAt.Reached("all-written", commit.Step);
        try
        {
            var metadata = MetadataBuilder.Build(commit.Step, commit.Plan, commit.Results, DateTimeOffset.UtcNow);
            _memory.PrepareStep(commit.Step);
            var checksum = _memory.StageMetadata(metadata);
            _memory.PublishMetadata(commit.Step);
            killAt.Reached("metadata-written", commit.Step);
            return (new SaveSummary(commit.Step, metadata.Files.Count, metadata.TotalFileBytes), MemoryAssignments.Recorded(commit.Copies, checksum), null);
        }
        catch (Exception e)
        {
            return (new SaveSummary(commit.Step, 0, 0), null, "commit to the memory tier failed: " + e.Message);
        }
    }

    /// <summary>Removes the memory metadata of <paramref name="step"/> (evicted, or its round aborted); a failure is logged.</summary>
    public void RemoveMemory(long step)
    {
        try
        {
            _memory.Delete(step);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.Warning("Could not remove the memory metadata of step {0}: {1}", step, e.Message);
        }
    }

    /// <summary>
    /// Compares the recovered <paramref name="catalog"/> with the step directories on disk
    /// (<see cref="CatalogReconciler"/>), logging committed steps whose metadata is missing.
    /// </summary>
    public Reconciliation Reconcile(CheckpointCatalog catalog)
    {
        // Metadata is read for every step not known to be on disk: a memory step's persist may have committed there.
        var plan = CatalogReconciler.Reconcile(catalog, Scan(step => catalog[step] is not { OnDisk: true }), DateTimeOffset.UtcNow);
        if (plan.Missing.Count > 0)
            log.Warning("Catalog recovery: committed steps {0} have no metadata under '{1}'; left as they are (is the right root mounted?)",
                string.Join(", ", plan.Missing), Root);
        foreach (var e in plan.Events) log.Info("Catalog recovery: step {0}: {1}", e.Step, CatalogReconciler.Describe(e));
        return plan;
    }

    /// <summary>The commit of <paramref name="summary"/>'s step is journaled: the tracker moves to it.</summary>
    public void Journaled(SaveSummary summary)
    {
        killAt.Reached("journaled", summary.Step);
        MoveTracker(summary.Step);
        killAt.Reached("tracker-moved", summary.Step);
        log.Info("Committed step {0}: {1} files, {2} bytes", summary.Step, summary.Files, summary.Bytes);
    }

    /// <summary>Points the tracker at <paramref name="step"/>; a failure is logged (the catalog, not the tracker, is the record).</summary>
    public void MoveTracker(long step)
    {
        try
        {
            store.MoveTracker(step);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.Warning("Step {0} is committed but the '{1}' tracker could not move: {2}", step, CheckpointLayout.LatestFile, e.Message);
        }
    }

    /// <summary>Removes the uncommitted files of an aborted step.</summary>
    public void RemoveUncommitted(long step)
    {
        try
        {
            store.DeleteUncommitted(step);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.Warning("Could not remove the files of aborted step {0}: {1}", step, e.Message);
        }
    }

    /// <summary>Removes the directories of <paramref name="steps"/>, debris of saves that never committed, now; returns those that are gone.</summary>
    public IReadOnlyList<long> RemoveDebris(IEnumerable<long> steps) => steps.Where(step =>
    {
        try
        {
            store.Delete(step, () => killAt.Reached("deleting", step));
            log.Info("Removed the directory of step {0}: left by a save that never committed", step);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.Warning("Could not remove the directory of step {0}: {1}", step, e.Message);
            return false;
        }
    }).ToArray();

    /// <summary>Removes a deleted step's directory off the actor's thread; the task's result says how it went (and is logged).</summary>
    public Task<DeletionFinished> RemoveInBackground(long step)
    {
        var removal = Task.Run(() => store.Delete(step, () => killAt.Reached("deleting", step))).ContinueWith(t =>
        {
            var error = t.Exception?.InnerException?.Message;
            // One that would not go is left for the next recovery, or for `gc` once the metadata is gone.
            if (error is null) log.Info("Removed the files of deleted step {0}", step);
            else log.Warning("Could not remove the files of deleted step {0}: {1}", step, error);
            return new DeletionFinished(step, error);
        }, TaskScheduler.Default);
        lock (_removing) _removing.Add(removal);
        removal.ContinueWith(t => { lock (_removing) _removing.Remove(t); }, TaskScheduler.Default);
        return removal;
    }

    /// <summary>
    /// Waits, up to <paramref name="patience"/>, for the removals still running: a planner that stops
    /// lets go of the root only after them, or the next holder (a restarted planner, a new job,
    /// `gc`, a test cleaning up) would find a directory emptying under it.
    /// </summary>
    public void AwaitRemovals(TimeSpan patience)
    {
        Task[] running;
        lock (_removing) running = _removing.Where(t => !t.IsCompleted).ToArray<Task>();
        if (running.Length == 0) return;
        log.Info("Stopping: waiting up to {0} for {1} step removal(s) to end before letting go of the root", patience, running.Length);
        if (!Task.WaitAll(running, patience))
            log.Warning("Stopping with step removals still running after {0}: the next planner of '{1}' removes what they leave, as debris", patience, Root);
    }

    /// <summary>Takes the root's catalog lock (one planner per root); disposing it lets go.</summary>
    public IDisposable TakeCatalogLock() => CatalogLock.Take(store.Blobs);
}

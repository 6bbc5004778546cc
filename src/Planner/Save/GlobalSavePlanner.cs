using System.Runtime.ExceptionServices;

namespace ActorCkpt;

/// <summary>
/// Turns the local plans of every rank into the global plan of a save: validate, dedup
/// replicated items, then assign items to files and writers. Pure and deterministic.
/// </summary>
internal static class GlobalSavePlanner
{
    /// <summary>
    /// Creates the global plan for writers on <paramref name="writerNodes"/> (one entry per writer:
    /// its node) and ranks on <paramref name="rankNodes"/>; <paramref name="tag"/> names this save
    /// attempt in its file names. Throws <see cref="PlanValidationException"/> when the local plans
    /// are inconsistent; nothing has been written at that point.
    /// </summary>
    public static GlobalSavePlan Create(
        IReadOnlyList<LocalSavePlan> plans, IReadOnlyList<string> writerNodes, IReadOnlyDictionary<int, string> rankNodes,
        SavePlanSettings settings, string tag)
    {
        // Validation and dedup only read the plans: on a machine with cores to spare they run side
        // by side (at 4,096 ranks × 256 items each takes a few hundred milliseconds of CPU). Invalid plans throw
        // from validation; the dedup of such plans, or what it threw, is discarded.
        // Both look each item's key up: it is numbered once for both (PlanKeys).
        var keys = PlanKeys.Of(plans);
        var validation = Task.Run(() => SavePlanValidator.Validate(plans, keys));
        // Dedup reads each item's size and index as it passes, so the assignment need not visit a
        // million items again (at this scale a pass over them costs more than its arithmetic). It
        // runs on the caller's thread: its scratch comes from the pool, which hands an array back
        // to the thread that returned it.
        IReadOnlyList<LocalSavePlan>? deduped = null;
        SavePlanDeduplicator.ItemSizes[]? sizes = null;
        ExceptionDispatchInfo? dedupFailed = null;
        try
        {
            deduped = SavePlanDeduplicator.Dedup(plans, settings.Dedup, keys, out sizes);
        }
        catch (Exception e)
        {
            dedupFailed = ExceptionDispatchInfo.Capture(e);
        }
        var tensors = validation.GetAwaiter().GetResult();
        dedupFailed?.Throw();
        var files = WriteAssigner.Assign(deduped!, writerNodes, rankNodes, settings.Placement, settings.FilesPerRank, tag, sizes!);
        return new GlobalSavePlan(plans[0].WorldSize, files, tensors);
    }
}

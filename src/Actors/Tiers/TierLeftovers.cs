namespace ActorCkpt;

/// <summary>
/// What copies to the object tier that never finished left there: step directories without
/// committed metadata (whole data files of a copy killed before its metadata went up) and, in an
/// object store, uploads begun and never completed. Nothing in the tier counts them, and a step that is
/// not sent again (gone from the local tiers, passed over, not due) never overwrites them, so they stayed for good. The
/// uploader removes them at the planner's start (and so at <c>actorckpt gc</c>), holding back every
/// upload meanwhile: only one job's planner uploads to a tier (one that is another job's root is
/// refused), so nothing else writes there while the steps are judged and removed.
/// </summary>
internal static class TierLeftovers
{
    /// <summary>What <see cref="Remove"/> removed: step directories, and unfinished uploads (paths in the tier).</summary>
    internal sealed record Removed(IReadOnlyList<long> Steps, IReadOnlyList<string> UploadsAborted);

    /// <summary>Nothing removed.</summary>
    public static readonly Removed None = new([], []);

    /// <summary>
    /// Removes from <paramref name="tier"/> the unfinished copies of every step but those in
    /// <paramref name="mayUpload"/> (steps that will still be sent: their next upload completes them).
    /// </summary>
    public static Removed Remove(CheckpointStore tier, IReadOnlySet<long> mayUpload)
    {
        var committed = tier.CommittedSteps().ToHashSet();
        bool Leftover(long step) => !committed.Contains(step) && !mayUpload.Contains(step);
        var steps = new List<long>();
        foreach (var name in tier.Blobs.ListDirectories("").Order(StringComparer.Ordinal))
            if (CheckpointLayout.TryParseStepDirectory(name, out var step) && Leftover(step))
            {
                // On an object store this aborts the uploads begun under the step too.
                tier.Blobs.DeleteDirectory(name);
                steps.Add(step);
            }
        var aborted = new List<string>();
        // An upload killed before its first object completed leaves no object to list, only the upload.
        if (tier.Blobs is ObjectBlobStore objects)
            foreach (var (path, id) in objects.AbandonedUploads())
                if (path.IndexOf('/') is var slash and > 0 && CheckpointLayout.TryParseStepDirectory(path[..slash], out var step) && Leftover(step))
                {
                    objects.AbortUpload(path, id);
                    aborted.Add(path);
                }
        return new Removed(steps, aborted);
    }
}

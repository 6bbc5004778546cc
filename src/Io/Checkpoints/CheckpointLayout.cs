using System.Globalization;

namespace ActorCkpt;

/// <summary>
/// Names of things under a checkpoint root (pure, no I/O): one directory per step,
/// "step-00000010"; inside it the data files and "metadata.json"; at the root the "latest" tracker.
/// </summary>
internal static class CheckpointLayout
{
    /// <summary>The metadata document; its presence makes the step a committed checkpoint.</summary>
    public const string MetadataFile = "metadata.json";

    /// <summary>The metadata while it is being written, before the rename that commits it.</summary>
    public const string MetadataTempFile = "metadata.json.tmp";

    /// <summary>Text file at the root holding the newest committed step, for tools and humans.</summary>
    public const string LatestFile = "latest";

    /// <summary>The catalog journal's SQLite file at the root (when the catalog is kept in SQLite).</summary>
    public const string CatalogFile = "catalog.db";

    /// <summary>File at the root holding the root's identity, part of its catalog's persistence id.</summary>
    public const string RootIdFile = "catalog.id";

    /// <summary>
    /// File at the root holding the last event its catalog's journal may hold (<see cref="SharedCatalogCheck"/>),
    /// written only when the catalog is kept outside the root.
    /// </summary>
    public const string MarkFile = "catalog.mark";

    /// <summary>
    /// File at an object tier's root naming the checkpoint root that first uploaded to it (its id): the
    /// tier's steps belong to that root's catalog, so no root of its own is made there.
    /// </summary>
    public const string ObjectTierMarkerFile = "tier-of.id";

    /// <summary>Directory at the root holding the memory tier's step metadata (<c>memory/step-N/metadata.json</c>); never a step directory.</summary>
    public const string MemoryDirectory = "memory";

    /// <summary>File at the root locked by the one planner that owns the catalog while it runs.</summary>
    public const string CatalogLockFile = "catalog.lock";

    /// <summary>
    /// The file beside lock file <paramref name="lockFile"/> in which its holder records itself
    /// (<see cref="LockHolder"/>): "catalog.lock.holder".
    /// </summary>
    public static string LockHolderFile(string lockFile) => lockFile + ".holder";

    private const string StepPrefix = "step-";

    /// <summary>Directory of step <paramref name="step"/>.</summary>
    public static string StepDirectory(long step) =>
        step >= 0 ? StepPrefix + step.ToString("D8", CultureInfo.InvariantCulture)
                  : throw new ArgumentOutOfRangeException(nameof(step), $"step {step}: steps are non-negative");

    /// <summary>Path of a file inside step <paramref name="step"/>'s directory.</summary>
    public static string InStep(long step, string file) => StepDirectory(step) + "/" + file;

    /// <summary>Parses a step directory name; false for anything else.</summary>
    public static bool TryParseStepDirectory(string name, out long step)
    {
        step = -1;
        // Only the name a save gives its step: "step-3" or "step-0000000003" beside "step-00000003"
        // would be the same step twice, which no reader or planner can tell apart.
        if (!name.StartsWith(StepPrefix, StringComparison.Ordinal)
            || !long.TryParse(name.AsSpan(StepPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out step)
            || name != StepDirectory(step))
        {
            step = -1;
            return false;
        }
        return true;
    }
}

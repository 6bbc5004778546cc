namespace ActorCkpt.Cli.Bench;

/// <summary>
/// Issue 21's targets for <c>actorckpt bench</c>, as upper bounds on ratios of its figures (all
/// "at most"), and which of them a report meets. They are stated for 1 GiB on 2 ranks; the bench
/// reports them for any size, beside the ratios, so a reader sees how far each figure is.
/// </summary>
internal static class BenchTargets
{
    /// <summary>The ratios, in report order: raw write over memcpy, save over raw write, async save (committed) over sync save, warm load over raw read.</summary>
    public static readonly string[] Ratios = { "raw_write_over_memcpy", "save_over_raw", "async_over_sync", "load_over_raw" };

    /// <summary>
    /// The bound on each ratio for a directory on <paramref name="memory"/> (tmpfs) or a disk, and
    /// <paramref name="layout"/>; null where the issue sets none (the raw write against memcpy is
    /// a tmpfs target: on a disk the device, not the software, sets the raw write).
    /// </summary>
    public static IReadOnlyDictionary<string, double?> For(bool memory, string layout) => new Dictionary<string, double?>
    {
        ["raw_write_over_memcpy"] = memory ? 6 : null,
        ["save_over_raw"] = memory ? 1.25 : 1.15,
        ["async_over_sync"] = 1.2,
        ["load_over_raw"] = layout == "replicated" ? 1.5 : 1.2,
    };

    /// <summary>Whether each ratio is within its target; null when the ratio or the target is absent.</summary>
    public static IReadOnlyDictionary<string, bool?> Met(IReadOnlyDictionary<string, double?> targets, IReadOnlyDictionary<string, double?> ratios) =>
        Ratios.ToDictionary(k => k, k => targets[k] is { } bound && ratios.GetValueOrDefault(k) is { } ratio ? ratio <= bound : (bool?)null);

    /// <summary>The median of the values present, or null when none is (the mean of the two middle ones for an even count).</summary>
    public static double? Median(IEnumerable<double?> values)
    {
        var sorted = values.OfType<double>().Order().ToArray();
        if (sorted.Length == 0) return null;
        var mid = sorted.Length / 2;
        return Math.Round(sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2, 4);
    }
}

namespace ActorCkpt.Cli.Bench;

/// <summary>
/// Issue 18's targets for <c>actorckpt bench --nodes K</c> (the bulk channel between node
/// processes), each a ratio of the bench's own figures with a direction: the channel's rate at
/// least half the plain socket's, a spread save at most 1.25 times the local save of the same
/// state, a warm cluster load from the shared directory at most twice the raw read, and a load
/// through other nodes' readers at least half the socket's rate. Stated for 1 GiB.
/// </summary>
internal static class ChannelTargets
{
    /// <summary>Each ratio, its bound, and whether the bound is a floor (at least) or a ceiling (at most).</summary>
    public static readonly IReadOnlyList<(string Ratio, double Bound, bool AtLeast)> All =
    [
        ("transfer_over_socket", 0.5, true),
        ("spread_over_local", 1.25, false),
        ("cluster_load_over_raw", 2, false),
        ("reader_load_over_socket", 0.5, true),
    ];

    /// <summary>Whether each ratio meets its bound; null when the ratio is absent.</summary>
    public static Dictionary<string, bool?> Met(IReadOnlyDictionary<string, double?> ratios) => Met(All, ratios);

    /// <summary>Whether each ratio of <paramref name="targets"/> meets its bound (a floor or a ceiling); null when the ratio is absent.</summary>
    public static Dictionary<string, bool?> Met(IReadOnlyList<(string Ratio, double Bound, bool AtLeast)> targets, IReadOnlyDictionary<string, double?> ratios) =>
        targets.ToDictionary(t => t.Ratio, t => ratios.GetValueOrDefault(t.Ratio) is { } r ? (t.AtLeast ? r >= t.Bound : r <= t.Bound) : (bool?)null);

    /// <summary><paramref name="targets"/> as a report states them: each ratio's <c>at_least</c> or <c>at_most</c> bound.</summary>
    public static Dictionary<string, object> Describe(IReadOnlyList<(string Ratio, double Bound, bool AtLeast)> targets) =>
        targets.ToDictionary(t => t.Ratio, t => (object)new Dictionary<string, object> { [t.AtLeast ? "at_least" : "at_most"] = t.Bound });
}

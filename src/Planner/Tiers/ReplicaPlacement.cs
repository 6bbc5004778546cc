namespace ActorCkpt;

/// <summary>
/// Which hosts hold the memory replicas of a data file, and who takes over a lost copy. Every
/// answer depends only on the set of hosts (sorted ordinally into a ring), never on the order or
/// repetitions of the list given, so the planner and anyone re-checking the catalog agree.
/// </summary>
internal static class ReplicaPlacement
{
    /// <summary>
    /// Hosts of one file of a rank on <paramref name="ownHost"/>: own host first, then R-1 others in
    /// ring order (hosts sorted ordinally, starting after own host), the window of R-1 starting
    /// spread·(R-1) places along those n-1 peers, so consecutive files tile the peers and a node's
    /// files fan out; distinct by construction. Own host not a candidate (a rank-only node, or
    /// null): R ring hosts starting spread·R places along the ring. Balance: k files of one own
    /// host with consecutive spreads (a host's ranks are consecutive in the plan's files, and
    /// round-robin ranks step by n ≡ 1 mod n-1) give each peer ⌊k(R-1)/(n-1)⌋ or ⌈k(R-1)/(n-1)⌉
    /// remote copies (a rank-only node: each host ⌊kR/n⌋ or ⌈kR/n⌉); other spreads may pile up.
    /// Throws with <see cref="Problem"/>'s text when R hosts do not exist.
    /// </summary>
    /// <param name="ownHost">The rank's host; null when unknown.</param>
    /// <param name="hosts">The candidate hosts (a live holder and a registered writer each).</param>
    /// <param name="replicas">R, 1 or more.</param>
    /// <param name="spread">The file's index in the global plan's files, 0 or more.</param>
    public static IReadOnlyList<string> Holders(string? ownHost, IReadOnlyCollection<string> hosts, int replicas, int spread)
    {
        if (spread < 0) throw new ArgumentOutOfRangeException(nameof(spread), $"spread {spread} is negative");
        var ring = Ring(hosts);
        if (Problem(replicas, ring) is { } problem) throw new ArgumentException(problem, nameof(replicas));

        var holders = new string[replicas];
        var own = ownHost is null ? -1 : Array.BinarySearch(ring, ownHost, StringComparer.Ordinal);
        if (own < 0)
        {
            var first = Start(spread, replicas, ring.Length);
            for (var i = 0; i < replicas; i++) holders[i] = ring[(first + i) % ring.Length];
            return holders;
        }

        holders[0] = ring[own];
        var peers = ring.Length - 1;
        // Only R >= 2 reaches the loop, and then peers >= 1.
        var start = replicas == 1 ? 0 : Start(spread, replicas - 1, peers);
        for (var i = 1; i < replicas; i++) holders[i] = ring[(own + 1 + (start + i - 1) % peers) % ring.Length];
        return holders;
    }

    /// <summary>"replicas = 3 needs 3 hosts holding memory replicas; the cluster has 2 (a, b)", or null when R fits.</summary>
    public static string? Problem(int replicas, IReadOnlyCollection<string> hosts)
    {
        if (replicas < 1) return $"replicas = {replicas}; it must be 1 or more";
        var ring = Ring(hosts);
        if (replicas <= ring.Length) return null;
        var named = ring.Length == 0 ? "none" : $"{ring.Length} ({Names(ring)})";
        return $"replicas = {replicas} needs {replicas} hosts holding memory replicas; the cluster has {named}";
    }

    /// <summary>
    /// The host taking over <paramref name="lost"/>'s copy of a file held by <paramref name="current"/>:
    /// the first ring host after lost's place in the ring holding no copy (lost itself excluded, even
    /// when it is still listed), or null when every host already holds one.
    /// </summary>
    public static string? Replace(IReadOnlyList<string> current, string lost, IReadOnlyCollection<string> hosts)
    {
        if (!current.Contains(lost, StringComparer.Ordinal))
            throw new ArgumentException($"host {lost} holds no copy of this file (holders: {string.Join(", ", current)})", nameof(lost));
        var ring = Ring(hosts);
        // Where lost sits (or would sit, once it has left the hosts) in the ring.
        var at = Array.BinarySearch(ring, lost, StringComparer.Ordinal);
        var start = at >= 0 ? at + 1 : ~at;
        for (var i = 0; i < ring.Length; i++)
        {
            var host = ring[(start + i) % ring.Length];
            if (!current.Contains(host, StringComparer.Ordinal)) return host;
        }
        return null;
    }

    /// <summary>
    /// Where file <paramref name="spread"/>'s window of <paramref name="width"/> hosts starts on a ring
    /// of <paramref name="length"/>: right after the previous file's window (a shift of spread alone
    /// would overlap consecutive windows when the width is over 1, loading some hosts twice as much).
    /// </summary>
    private static int Start(int spread, int width, int length) => (int)((long)(spread % length) * width % length);

    private static string[] Ring(IReadOnlyCollection<string> hosts) =>
        hosts.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();

    private static string Names(string[] ring) =>
        ring.Length <= Problems.Named
            ? string.Join(", ", ring)
            : string.Join(", ", ring.Take(Problems.Named)) + $" and {ring.Length - Problems.Named} more";
}

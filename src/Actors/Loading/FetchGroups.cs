namespace ActorCkpt;

/// <summary>
/// Which reads of a load through readers are fetched together. Each fetch costs two round trips
/// (the ask to the reader, the transfer's opening), which on a small read cost more than its bytes:
/// reads under <see cref="SmallRead"/> bytes from one node go together, in plan order, up to
/// <see cref="MaxBytes"/> and <see cref="ReadRanges.MaxRanges"/> a group; every other read is a group of its own.
/// </summary>
internal static class FetchGroups
{
    /// <summary>Reads shorter than this are gathered.</summary>
    public const long SmallRead = 1 << 20;

    /// <summary>The most bytes one group fetches (and holds in one buffer until its reads are applied).</summary>
    public const long MaxBytes = 8 << 20;

    /// <summary>
    /// The groups of <paramref name="reads"/> (indices, each read in exactly one group, ordered by
    /// their first read), <paramref name="nodeOf"/> naming the node each read comes from.
    /// </summary>
    public static IReadOnlyList<int[]> Of(IReadOnlyList<ReadItem> reads, Func<ReadItem, string> nodeOf,
        long smallRead = SmallRead, long maxBytes = MaxBytes, int maxRanges = ReadRanges.MaxRanges)
    {
        var groups = new List<List<int>>();
        var open = new Dictionary<string, (List<int> Reads, long Bytes)>(StringComparer.Ordinal);
        for (var i = 0; i < reads.Count; i++)
        {
            var length = reads[i].RangeLength;
            if (length >= smallRead)
            {
                groups.Add([i]);
                continue;
            }
            var node = nodeOf(reads[i]);
            if (open.TryGetValue(node, out var group) && group.Bytes + length <= maxBytes && group.Reads.Count < maxRanges)
            {
                group.Reads.Add(i);
                open[node] = (group.Reads, group.Bytes + length);
                continue;
            }
            var started = new List<int> { i };
            groups.Add(started);
            open[node] = (started, length);
        }
        return groups.Select(g => g.ToArray()).ToArray();
    }
}

namespace ActorCkpt;

/// <summary>
/// Transfers a node's channel completed: how many, their bytes, and each one's span from its first
/// data byte sent to its acknowledgement (<see cref="System.Diagnostics.Stopwatch"/> timestamps, one
/// clock for every process of a machine, so the spans of several nodes combine).
/// </summary>
/// <param name="Transfers">Transfers completed.</param>
/// <param name="Bytes">Their bytes.</param>
/// <param name="Starts">When each sent its first byte.</param>
/// <param name="Ends">When each was acknowledged (same order as <paramref name="Starts"/>).</param>
internal sealed record BulkActivity(long Transfers, long Bytes, long[] Starts, long[] Ends)
{
    /// <summary>No transfer.</summary>
    public static BulkActivity None { get; } = new(0, 0, Array.Empty<long>(), Array.Empty<long>());

    /// <summary>This activity with one more transfer of <paramref name="bytes"/> from <paramref name="start"/> to <paramref name="end"/>.</summary>
    public BulkActivity With(long bytes, long start, long end) => new(Transfers + 1, Bytes + bytes, [.. Starts, start], [.. Ends, end]);

    /// <summary>The activity of several nodes together.</summary>
    public static BulkActivity Combine(IEnumerable<BulkActivity> all) =>
        all.Aggregate(None, (sum, a) => new BulkActivity(sum.Transfers + a.Transfers, sum.Bytes + a.Bytes, [.. sum.Starts, .. a.Starts], [.. sum.Ends, .. a.Ends]));

    /// <summary>From the first byte of the first transfer to the acknowledgement of the last, in seconds (0 with none).</summary>
    public double SpanSeconds => Transfers == 0 ? 0 : Seconds(Ends.Max() - Starts.Min());

    /// <summary>
    /// The time at least one transfer was under way, in seconds: the union of the transfers' spans.
    /// Unlike <see cref="SpanSeconds"/> it leaves out gaps when no byte was moving (a rank still
    /// staging its file while another's push was done).
    /// </summary>
    public double BusySeconds
    {
        get
        {
            long busy = 0, coveredTo = long.MinValue;
            foreach (var (start, end) in Starts.Zip(Ends).OrderBy(s => s.First))
            {
                if (end <= coveredTo) continue;
                busy += end - Math.Max(start, coveredTo);
                coveredTo = end;
            }
            return Seconds(busy);
        }
    }

    /// <summary>Bytes per second while the channel was moving them (<see cref="BusySeconds"/>), in GB/s (10^9); 0 with no transfer.</summary>
    public double GigabytesPerSecond => BusySeconds is > 0 and var s ? Bytes / s / 1e9 : 0;

    /// <summary>Bytes per second over the whole <see cref="SpanSeconds"/>, in GB/s; 0 with no transfer.</summary>
    public double SpanGigabytesPerSecond => SpanSeconds is > 0 and var s ? Bytes / s / 1e9 : 0;

    private static double Seconds(long ticks) => (double)ticks / System.Diagnostics.Stopwatch.Frequency;
}

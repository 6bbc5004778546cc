namespace ActorCkpt;

/// <summary>
/// Transfers a node's channel completed over a span of time: how many, their bytes, and from the
/// first data byte sent to the last acknowledgement (<see cref="System.Diagnostics.Stopwatch"/>
/// timestamps, one clock for every process of a machine, so spans of several nodes combine).
/// </summary>
/// <param name="Transfers">Transfers completed.</param>
/// <param name="Bytes">Their bytes.</param>
/// <param name="FirstStart">When the first of them sent its first byte (0 when none).</param>
/// <param name="LastEnd">When the last of them was acknowledged (0 when none).</param>
internal sealed record BulkActivity(long Transfers, long Bytes, long FirstStart, long LastEnd)
{
    /// <summary>No transfer.</summary>
    public static BulkActivity None { get; } = new(0, 0, 0, 0);

    /// <summary>This activity with one more transfer of <paramref name="bytes"/> from <paramref name="start"/> to <paramref name="end"/>.</summary>
    public BulkActivity With(long bytes, long start, long end) =>
        new(Transfers + 1, Bytes + bytes, Transfers == 0 ? start : Math.Min(FirstStart, start), Math.Max(LastEnd, end));

    /// <summary>The activity of several nodes together.</summary>
    public static BulkActivity Combine(IEnumerable<BulkActivity> all) =>
        all.Where(a => a.Transfers > 0).Aggregate(None, (sum, a) => sum.Transfers == 0 ? a
            : new BulkActivity(sum.Transfers + a.Transfers, sum.Bytes + a.Bytes, Math.Min(sum.FirstStart, a.FirstStart), Math.Max(sum.LastEnd, a.LastEnd)));

    /// <summary>Bytes per second over the span, in GB/s (10^9); 0 with no transfer.</summary>
    public double GigabytesPerSecond => Transfers == 0 || LastEnd <= FirstStart ? 0
        : Bytes / System.Diagnostics.Stopwatch.GetElapsedTime(FirstStart, LastEnd).TotalSeconds / 1e9;
}

namespace ActorCkpt.Cli.Bench;

/// <summary>
/// This process's resident memory from /proc/self/status, and its high-water mark, which Linux
/// resets when "5" is written to /proc/self/clear_refs: the peak of one phase of a benchmark.
/// </summary>
internal static class ProcessMemory
{
    /// <summary>Resident bytes now (VmRSS).</summary>
    public static long ResidentBytes => Read("VmRSS:");

    /// <summary>Most resident bytes since the last <see cref="ResetPeak"/> (VmHWM).</summary>
    public static long PeakBytes => Read("VmHWM:");

    /// <summary>Starts a new high-water mark at the current resident size.</summary>
    public static void ResetPeak() => File.WriteAllText("/proc/self/clear_refs", "5");

    private static long Read(string field)
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith(field, StringComparison.Ordinal))
                   ?? throw new PlatformNotSupportedException($"/proc/self/status has no {field} line");
        return long.Parse(line[field.Length..].Trim().Split(' ')[0]) * 1024;
    }
}

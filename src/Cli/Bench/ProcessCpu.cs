using System.Globalization;

namespace ActorCkpt.Cli.Bench;

/// <summary>
/// CPU time processes have used (user and system, every thread), from /proc/&lt;pid&gt;/stat: how
/// much of the machine a phase of a benchmark took, beside how long it took.
/// </summary>
internal static class ProcessCpu
{
    /// <summary>Ticks per second of /proc's utime and stime: USER_HZ, 100 on every Linux that .NET runs on.</summary>
    private const double TicksPerSecond = 100;

    /// <summary>The CPU seconds of the processes <paramref name="pids"/> together; null when one cannot be read (gone, or not Linux).</summary>
    public static double? Seconds(IEnumerable<int> pids)
    {
        double total = 0;
        foreach (var pid in pids)
        {
            string stat;
            try
            {
                stat = File.ReadAllText($"/proc/{pid}/stat");
            }
            catch (IOException)
            {
                return null;
            }
            if (Parse(stat) is not { } seconds) return null;
            total += seconds;
        }
        return total;
    }

    /// <summary>
    /// The user plus system seconds of one /proc/&lt;pid&gt;/stat line: fields 14 and 15, counted after the
    /// command name, which is in parentheses and may itself hold spaces and parentheses.
    /// </summary>
    internal static double? Parse(string stat)
    {
        var close = stat.LastIndexOf(')');
        if (close < 0) return null;
        // After ") ": field 3 (state) is at index 0, so utime (14) and stime (15) are at 11 and 12.
        var fields = stat[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 13
            || !long.TryParse(fields[11], NumberStyles.None, CultureInfo.InvariantCulture, out var user)
            || !long.TryParse(fields[12], NumberStyles.None, CultureInfo.InvariantCulture, out var system))
            return null;
        return (user + system) / TicksPerSecond;
    }
}

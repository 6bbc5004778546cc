namespace ChannelBench;

/// <summary>Readings from /proc: the machine's busy CPU time and load, a process's peak resident set.</summary>
public static class ProcStat
{
    /// <summary>Peak resident set of this process in MiB (VmHWM), or -1 where /proc is absent.</summary>
    public static double PeakRssMiB()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0;
        }
        catch (IOException) { }
        return -1;
    }

    /// <summary>CPU seconds the whole machine spent busy (all but idle and iowait) since boot.</summary>
    public static double MachineBusySeconds()
    {
        var first = File.ReadLines("/proc/stat").First();
        var f = first.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(long.Parse).ToArray();
        // user nice system idle iowait irq softirq steal ...
        long busy = 0;
        for (var i = 0; i < f.Length && i < 8; i++)
            if (i != 3 && i != 4) busy += f[i];
        return busy / 100.0; // USER_HZ is 100 on Linux
    }

    /// <summary>The 1-minute load average.</summary>
    public static double Load1() => double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
}

using System.IO.Hashing;
using System.Text.Json;

namespace ChannelBench;

/// <summary>
/// What a receiver process reports: per transfer its outcome and the CPU the process spent on it
/// (from the end of the previous transfer to this one's end frame). Every transfer writes from
/// offset 0 of the same buffer, so once the last one is in, <see cref="Report"/> hashes what it left
/// there (XxHash128, outside the sender's clock); the driver compares that with the sender's hash.
/// </summary>
public sealed class ReceiverLog(byte[] dest, int expectedTransfers)
{
    private readonly Lock _lock = new();
    private readonly List<object> _entries = [];
    private TimeSpan _cpuMark = Environment.CpuUsage.TotalTime;
    private long _lastBytes = -1;

    /// <summary>Completes when the expected number of transfers was recorded, or one failed.</summary>
    public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The process CPU (user + system) now: taken at the end frame, before acknowledging it.</summary>
    public static TimeSpan CpuNow() => Environment.CpuUsage.TotalTime;

    /// <summary>Records a transfer whose end frame was seen at <paramref name="cpuAtEnd"/>.</summary>
    public void Record(TransferOutcome outcome, TimeSpan cpuAtEnd)
    {
        lock (_lock)
        {
            _entries.Add(new
            {
                transfer = _entries.Count,
                bytes = outcome.Bytes,
                frames = outcome.Frames,
                error = outcome.Error,
                cpu_s = (cpuAtEnd - _cpuMark).TotalSeconds,
            });
            _cpuMark = cpuAtEnd;
            _lastBytes = outcome.Error is null ? outcome.Bytes : -1;
            if (outcome.Error is not null || _entries.Count >= expectedTransfers) Done.TrySetResult();
        }
    }

    /// <summary>Records a failure that ended the connection (a bad frame, a reset).</summary>
    public void Fail(Exception e)
    {
        lock (_lock)
        {
            _entries.Add(new { transfer = _entries.Count, error = e.GetType().Name + ": " + e.Message });
            _lastBytes = -1;
            Done.TrySetResult();
        }
    }

    /// <summary>One JSON line: every transfer, and the XxHash128 of the last one's bytes (empty if it failed).</summary>
    public string Report()
    {
        lock (_lock)
        {
            var hash = _lastBytes >= 0 ? Convert.ToHexString(XxHash128.Hash(dest.AsSpan(0, (int)_lastBytes))) : "";
            return JsonSerializer.Serialize(new { role = "receiver", transfers = _entries, last_xxh128 = hash, peak_rss_mib = ProcStat.PeakRssMiB(),
                gc = new[] { GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2) }, gc_pause_s = GC.GetTotalPauseDuration().TotalSeconds,
                allocated_mib = GC.GetTotalAllocatedBytes() / (1 << 20) });
        }
    }
}

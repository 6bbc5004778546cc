using System.Diagnostics;
using System.IO.Hashing;
using System.Runtime;
using System.Text.Json;

namespace ChannelBench;

/// <summary>The two ends of a run, each started as its own process by the driver.</summary>
public static class Roles
{
    /// <summary>
    /// The receiving process: allocates and touches the destination buffer, listens, prints READY,
    /// reports once the expected transfers are in, then stays up until its standard input closes (so
    /// the last acknowledgement is surely on the wire before it exits).
    /// </summary>
    public static async Task<int> ReceiveAsync(Args a)
    {
        var candidate = a.Require("candidate");
        var bytes = checked((int)a.Long("bytes", 0));
        var dest = GC.AllocateUninitializedArray<byte>(bytes, pinned: true);
        dest.AsSpan().Fill(0xEE); // fault every page in before the clock
        var log = new ReceiverLog(dest, (int)a.Long("transfers", 2));
        await using var receiver = Candidates.Receiver(candidate);
        await receiver.StartAsync((int)a.Long("port", 0), dest, log);
        Console.WriteLine("READY");
        await log.Done.Task;
        Console.WriteLine(log.Report());
        await Console.In.ReadToEndAsync();
        return 0;
    }

    /// <summary>
    /// The sending process: fills a pinned buffer with random bytes and hashes it (before the clock),
    /// connects, sends a warm-up transfer (the JIT and the connection's buffers, as a reused
    /// connection would have them), then the timed transfer: from its first byte to the receiver's
    /// acknowledgement of its end.
    /// </summary>
    public static async Task<int> SendAsync(Args a)
    {
        var candidate = a.Require("candidate");
        var bytes = checked((int)a.Long("bytes", 0));
        var frameBytes = checked((int)(a.Double("frame-mb", 1) * (1 << 20)));
        var warmupBytes = (int)Math.Min(bytes, a.Long("warmup-mb", 64) << 20);
        if (a.Flag("corrupt-frame-at")) warmupBytes = 0; // the self-test's bad frame must be in the transfer it checks
        FrameChecksum.CorruptFrameAt = a.Long("corrupt-frame-at", -1);
        var payload = GC.AllocateUninitializedArray<byte>(bytes, pinned: true);
        new Random(bytes ^ frameBytes).NextBytes(payload);
        var hash = Convert.ToHexString(XxHash128.Hash(payload));

        await using var sender = Candidates.Sender(candidate);
        await sender.ConnectAsync((int)a.Long("port", 0));
        await sender.SendAsync(payload, warmupBytes, frameBytes);

        GC.Collect();
        GC.WaitForPendingFinalizers();
        var load1 = ProcStat.Load1();
        var busy0 = ProcStat.MachineBusySeconds();
        var cpu0 = Environment.CpuUsage.TotalTime;
        var sw = Stopwatch.StartNew();
        await sender.SendAsync(payload, bytes, frameBytes);
        sw.Stop();
        var cpu1 = Environment.CpuUsage.TotalTime;
        var busy1 = ProcStat.MachineBusySeconds();

        Console.WriteLine(JsonSerializer.Serialize(new
        {
            role = "sender",
            candidate,
            bytes,
            frame_bytes = frameBytes,
            seconds = sw.Elapsed.TotalSeconds,
            cpu_s = (cpu1 - cpu0).TotalSeconds,
            machine_busy_s = busy1 - busy0,
            load1_before = load1,
            xxh128 = hash,
            gc_gen0 = GC.CollectionCount(0),
            peak_rss_mib = ProcStat.PeakRssMiB(),
            server_gc = GCSettings.IsServerGC,
        }));
        return 0;
    }
}

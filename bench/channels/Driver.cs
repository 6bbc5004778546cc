using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ChannelBench;

/// <summary>
/// The <c>compare</c> command: for every size and round, runs every candidate once in turn
/// (A B C D A B C D ...), each run a fresh receiver process and a fresh sender process; keeps a run's
/// figure only when the receiver checked every frame and the XxHash128 of what it holds equals the
/// sender's. Prints every run, a table of medians and one JSON line with all figures.
/// </summary>
public static class Driver
{
    private sealed record Run(
        string Candidate, int FrameMiB, int SizeMiB, int Round, bool Ok, string? Error,
        double Seconds, double Gbps, double SenderCpu, double ReceiverCpu, double MachineBusy,
        double Load1, double SenderRssMiB, double ReceiverRssMiB);

    /// <summary>Runs the comparison; returns 0 when every run verified, 1 otherwise.</summary>
    public static async Task<int> CompareAsync(Args a)
    {
        var sizes = a.Get("sizes-mb", "256,1024").Split(',').Select(int.Parse).ToArray();
        var rounds = (int)a.Long("rounds", 3);
        var candidates = a.Get("candidates", "tcp,pipes,socket,akka,grpc,grpc-pooled").Split(',');
        var maxLoad = a.Double("max-load", 2);
        var quietWait = TimeSpan.FromSeconds(a.Double("quiet-wait-s", 900));
        var iperf = !a.Flag("no-iperf3") && File.Exists("/usr/bin/iperf3") ? "/usr/bin/iperf3" : null;
        var runs = new List<Run>();
        var startedUtc = DateTime.UtcNow;
        var loadAtStart = File.ReadAllText("/proc/loadavg").Trim();
        Console.WriteLine($"# {startedUtc:u}; load {loadAtStart}; {Environment.ProcessorCount} cpus; candidates {string.Join(' ', candidates)}{(iperf is null ? "" : " iperf3")}");

        foreach (var size in sizes)
            for (var round = 1; round <= rounds; round++)
            {
                var order = candidates.Select(c => c).ToList();
                if (iperf is not null) order.Add("iperf3");
                // Quiet is awaited once per round, not per run: back-to-back runs raise the load
                // average themselves. Each run records the machine's busy CPU during its clock
                // besides its own processes', which shows what else ran.
                var load = await WaitQuietAsync(maxLoad, quietWait);
                foreach (var spec in order)
                {
                    Run run;
                    try
                    {
                        run = spec == "iperf3"
                            ? await RunIperfAsync(iperf!, size, round, load)
                            : await RunOnceAsync(spec, (long)size << 20, size, round, load);
                    }
                    catch (Exception e)
                    {
                        // Reported as a failed run; the comparison goes on.
                        run = new Run(spec, 0, size, round, false, e.Message, 0, 0, 0, 0, 0, load, 0, 0);
                    }
                    runs.Add(run);
                    Console.WriteLine(run.Ok
                        ? $"{size,5} MiB  round {round}  {Label(run),-10} {run.Seconds,7:F3} s  {run.Gbps,6:F2} GB/s  cpu sender {run.SenderCpu:F2} s receiver {run.ReceiverCpu:F2} s  machine busy {run.MachineBusy:F2} s  load {run.Load1:F2}"
                        : $"{size,5} MiB  round {round}  {Label(run),-10} FAILED: {run.Error}");
                }
            }

        var summary = Summarize(runs, sizes);
        Console.WriteLine();
        Console.WriteLine(summary.Markdown);
        var json = new JsonObject
        {
            ["bench"] = "channels",
            ["started_utc"] = startedUtc.ToString("u", CultureInfo.InvariantCulture),
            ["load_at_start"] = loadAtStart,
            ["load_at_end"] = File.ReadAllText("/proc/loadavg").Trim(),
            ["cpus"] = Environment.ProcessorCount,
            ["rounds"] = rounds,
            ["runs"] = JsonSerializer.SerializeToNode(runs.Select(r => new
            {
                candidate = r.Candidate, frame_mib = r.FrameMiB, size_mib = r.SizeMiB, round = r.Round, ok = r.Ok, error = r.Error,
                seconds = r.Seconds, gbps = r.Gbps, sender_cpu_s = r.SenderCpu, receiver_cpu_s = r.ReceiverCpu,
                machine_busy_s = r.MachineBusy, load1 = r.Load1, sender_peak_rss_mib = r.SenderRssMiB, receiver_peak_rss_mib = r.ReceiverRssMiB,
            })),
            ["medians"] = summary.Json,
        };
        var line = json.ToJsonString();
        Console.WriteLine(line);
        var outPath = a.Get("out", "");
        if (outPath.Length > 0) await File.AppendAllTextAsync(outPath, line + "\n");
        return runs.All(r => r.Ok) ? 0 : 1;
    }

    private static string Label(Run r) => r.Candidate is "tcp" or "iperf3" ? r.Candidate : $"{r.Candidate}@{r.FrameMiB}";

    private static async Task<double> WaitQuietAsync(double maxLoad, TimeSpan wait)
    {
        var until = DateTime.UtcNow + wait;
        var load = ProcStat.Load1();
        var said = false;
        while (load >= maxLoad && DateTime.UtcNow < until)
        {
            if (!said) Console.WriteLine($"# load {load:F2} >= {maxLoad}: waiting for a quiet machine");
            said = true;
            await Task.Delay(TimeSpan.FromSeconds(5)); // polling the load average: there is no event to wait on
            load = ProcStat.Load1();
        }
        if (load >= maxLoad) Console.WriteLine($"# load still {load:F2} after {wait.TotalSeconds:F0} s: measuring anyway (noisy)");
        return load;
    }

    /// <summary>
    /// The self-test: every candidate moves odd sizes (1 byte, a frame less or more one byte, several
    /// frames and a tail) and must verify; then every framed candidate is sent one frame with a wrong
    /// checksum and must fail. Small sizes, no timing.
    /// </summary>
    public static async Task<int> SelfTestAsync(Args a)
    {
        var candidates = a.Get("candidates", string.Join(',', Candidates.All)).Split(',');
        long[] sizes = [1, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, (5 << 20) + 12345];
        var failures = 0;
        foreach (var c in candidates)
        {
            foreach (var bytes in sizes)
            {
                var run = await RunOnceAsync(c, bytes, 0, 0, 0);
                Console.WriteLine($"{c,-12} {bytes,9} bytes  {(run.Ok ? "verified" : "FAILED: " + run.Error)}");
                if (!run.Ok) failures++;
            }
            if (c == "tcp") continue; // the baseline carries no checksums
            var bad = await RunOnceAsync(c, 3 << 20, 0, 0, 0, "--corrupt-frame-at", $"{1 << 20}");
            var refused = !bad.Ok && bad.Error is { } e && e.Contains("XxHash3", StringComparison.Ordinal);
            Console.WriteLine($"{c,-12} bad checksum on frame 1: {(refused ? "refused by the receiver" : "NOT REFUSED: " + bad.Error)}");
            if (!refused) failures++;
        }
        Console.WriteLine($"{candidates.Length * sizes.Length + candidates.Count(c => c != "tcp") - failures} passed, {failures} failed");
        return failures == 0 ? 0 : 1;
    }

    private static async Task<Run> RunOnceAsync(string spec, long bytes, int sizeMiB, int round, double load, params string[] senderExtra)
    {
        var at = spec.IndexOf('@');
        var candidate = at < 0 ? spec : spec[..at];
        var frameMiB = at < 0 ? 1 : int.Parse(spec[(at + 1)..]);
        var port = FreePort();
        Run Failed(string why) => new(candidate, frameMiB, sizeMiB, round, false, why, 0, 0, 0, 0, 0, load, 0, 0);

        using var receiver = Start("receive", "--port", $"{port}", "--candidate", candidate, "--bytes", $"{bytes}", "--transfers", "2");
        Process? sender = null;
        try
        {
            return await CollectAsync();
        }
        finally
        {
            // A run that timed out leaves no process behind: both are ours, stopped by their id.
            if (!receiver.HasExited) receiver.Kill();
            if (sender is { HasExited: false }) sender.Kill();
            sender?.Dispose();
        }

        async Task<Run> CollectAsync()
        {
            var ready = await receiver.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(2));
            if (ready != "READY") return Failed($"receiver did not start: {ready} {await receiver.StandardError.ReadToEndAsync()}");

            sender = Start(["send", "--port", $"{port}", "--candidate", candidate, "--bytes", $"{bytes}", "--frame-mb", $"{frameMiB}", .. senderExtra]);
            var senderOut = sender.StandardOutput.ReadToEndAsync();
            var senderErr = sender.StandardError.ReadToEndAsync();
            await sender.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(10));
            receiver.StandardInput.Close();
            var receiverOut = await receiver.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromMinutes(2));
            var receiverErr = await receiver.StandardError.ReadToEndAsync();
            await receiver.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));

            var s = LastJson(await senderOut);
            var r = LastJson(receiverOut);
            if (r is null) return Failed($"receiver gave no report: {Tail(receiverErr)}");
            var transfers = r["transfers"]!.AsArray();
            var last = transfers[^1]!;
            if (last["error"] is JsonValue err && err.GetValue<string?>() is { } e) return Failed($"receiver: {e}");
            if (sender.ExitCode != 0 || s is null) return Failed($"sender exit {sender.ExitCode}: {Tail(await senderErr)}");
            if (transfers.Count != 2 || last["bytes"]!.GetValue<long>() != bytes) return Failed($"receiver saw {transfers.ToJsonString()}");
            if (r["last_xxh128"]!.GetValue<string>() != s["xxh128"]!.GetValue<string>())
                return Failed($"XxHash128 differs: sender {s["xxh128"]}, receiver {r["last_xxh128"]}");

            var seconds = s["seconds"]!.GetValue<double>();
            return new Run(candidate, frameMiB, sizeMiB, round, true, null, seconds, bytes / seconds / 1e9,
                s["cpu_s"]!.GetValue<double>(), last["cpu_s"]!.GetValue<double>(), s["machine_busy_s"]!.GetValue<double>(),
                s["load1_before"]!.GetValue<double>(), s["peak_rss_mib"]!.GetValue<double>(), r["peak_rss_mib"]!.GetValue<double>());
        }
    }

    /// <summary>iperf3 over the same loopback, the same byte count, for reference (its own CPU figures).</summary>
    private static async Task<Run> RunIperfAsync(string iperf, int sizeMiB, int round, double load)
    {
        var port = FreePort();
        var bytes = (long)sizeMiB << 20;
        // The server is stopped by its id once the client is done: `-1` would let a client attempt that
        // failed under load use up the server's one test.
        using var server = Process.Start(new ProcessStartInfo(iperf, ["-s", "-B", "127.0.0.1", "-p", $"{port}"])
        { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var serverOut = server.StandardOutput.ReadToEndAsync();
        JsonNode? j = null;
        string err = "";
        for (var attempt = 0; attempt < 50 && j is null; attempt++)
        {
            using var client = Process.Start(new ProcessStartInfo(iperf, ["-c", "127.0.0.1", "-p", $"{port}", "-n", $"{bytes}", "-J"])
            { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var text = await client.StandardOutput.ReadToEndAsync();
            await client.WaitForExitAsync();
            if (client.ExitCode == 0) j = JsonNode.Parse(text);
            else { err = text; await Task.Delay(100); } // the server may not be listening yet: no readiness signal from iperf3
        }
        server.Kill();
        await server.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        _ = await serverOut;
        if (j is null) return new Run("iperf3", 0, sizeMiB, round, false, Tail(err), 0, 0, 0, 0, 0, load, 0, 0);
        if (j["end"]?["sum_received"] is not { } sum || j["end"]?["cpu_utilization_percent"] is not { } cpu)
            return new Run("iperf3", 0, sizeMiB, round, false, "iperf3 reported no totals: " + Tail(j.ToJsonString()), 0, 0, 0, 0, 0, load, 0, 0);
        var seconds = sum["seconds"]!.GetValue<double>();
        var moved = sum["bytes"]!.GetValue<double>();
        return new Run("iperf3", 0, sizeMiB, round, true, null, seconds, moved / seconds / 1e9,
            cpu["host_total"]!.GetValue<double>() / 100 * seconds, cpu["remote_total"]!.GetValue<double>() / 100 * seconds,
            0, load, 0, 0);
    }

    private sealed record Summary(string Markdown, JsonArray Json);

    private static Summary Summarize(List<Run> runs, int[] sizes)
    {
        var md = new StringBuilder();
        md.AppendLine("| size | candidate | runs (s) | median s | median GB/s | sender CPU s | receiver CPU s | vs tcp |");
        md.AppendLine("|---:|---|---|---:|---:|---:|---:|---:|");
        var json = new JsonArray();
        foreach (var size in sizes)
        {
            var ofSize = runs.Where(r => r.SizeMiB == size).ToList();
            var baseline = Median(ofSize.Where(r => r.Ok && r.Candidate == "tcp").Select(r => r.Gbps));
            foreach (var g in ofSize.GroupBy(Label))
            {
                var ok = g.Where(r => r.Ok).ToList();
                var failed = g.Count() - ok.Count;
                var gbps = Median(ok.Select(r => r.Gbps));
                var ratio = baseline > 0 && gbps > 0 ? gbps / baseline : double.NaN;
                var list = string.Join(", ", ok.Select(r => r.Seconds.ToString("F3", CultureInfo.InvariantCulture)))
                    + (failed > 0 ? $" ({failed} failed)" : "");
                md.AppendLine(CultureInfo.InvariantCulture,
                    $"| {size} MiB | {g.Key} | {list} | {Median(ok.Select(r => r.Seconds)):F3} | {gbps:F2} | {Median(ok.Select(r => r.SenderCpu)):F2} | {Median(ok.Select(r => r.ReceiverCpu)):F2} | {ratio:F2} |");
                json.Add(new JsonObject
                {
                    ["size_mib"] = size,
                    ["candidate"] = g.Key,
                    ["ok_runs"] = ok.Count,
                    ["failed_runs"] = failed,
                    ["median_s"] = Json(Median(ok.Select(r => r.Seconds))),
                    ["median_gbps"] = Json(gbps),
                    ["median_sender_cpu_s"] = Json(Median(ok.Select(r => r.SenderCpu))),
                    ["median_receiver_cpu_s"] = Json(Median(ok.Select(r => r.ReceiverCpu))),
                    ["ratio_to_tcp"] = Json(ratio),
                });
            }
        }
        return new Summary(md.ToString(), json);
    }

    private static JsonNode? Json(double x) => double.IsNaN(x) ? null : JsonValue.Create(x);

    private static double Median(IEnumerable<double> xs)
    {
        var a = xs.OrderBy(x => x).ToArray();
        if (a.Length == 0) return double.NaN;
        return a.Length % 2 == 1 ? a[a.Length / 2] : (a[a.Length / 2 - 1] + a[a.Length / 2]) / 2;
    }

    private static Process Start(params string[] args)
    {
        var self = Environment.ProcessPath!;
        var psi = new ProcessStartInfo(self)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") psi.ArgumentList.Add(typeof(Driver).Assembly.Location);
        foreach (var x in args) psi.ArgumentList.Add(x);
        return Process.Start(psi)!;
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private static JsonNode? LastJson(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => l.StartsWith('{')).Select(l => JsonNode.Parse(l)).LastOrDefault();

    private static string Tail(string s) => s.Length <= 600 ? s.Trim() : "..." + s[^600..].Trim();
}

using System.Diagnostics;
using System.Text.RegularExpressions;

namespace ActorCkpt.Cli.Tests;

/// <summary>
/// A private network for one crash harness: a bridge in the root namespace holding the harness's
/// own address 10.213.S.1/24, and per node a network namespace whose <c>eth0</c> (10.213.S.(10+i))
/// is one end of a veth pair whose other end is on the bridge. A node is cut off by taking its
/// veth down, and slowed by a <c>tc tbf</c> rate limit on both ends (this kernel has no netem).
/// Everything is named <c>ckx{pid}s{seq}…</c>, so a harness removes what a dead one left behind
/// (<see cref="RemoveStale"/>) without touching a live one's; disposing removes it all.
/// </summary>
internal sealed partial class NetworkNamespaces : IDisposable
{
    private const string Prefix = "ckx";
    private static int _sequence;
    private static readonly Lazy<string?> WhyUnavailable = new(Probe);
    private readonly string _id;
    private readonly int _subnet;
    private readonly int _nodes;
    private bool _disposed;

    private NetworkNamespaces(string id, int subnet, int nodes) => (_id, _subnet, _nodes) = (id, subnet, nodes);

    /// <summary>Null when namespaces can be made here (root, a working <c>ip netns</c> and <c>tc</c>); otherwise why not, in one line.</summary>
    public static string? Unavailable => WhyUnavailable.Value;

    /// <summary>The prefix of every name this network's namespaces and links carry.</summary>
    public string Id => _id;

    /// <summary>The harness's own address on the bridge: the nodes reach the driver there.</summary>
    public string HostAddress => $"10.213.{_subnet}.1";

    /// <summary>The namespace of node <paramref name="i"/>.</summary>
    public string Namespace(int i) => $"{_id}n{i}";

    /// <summary>The address of node <paramref name="i"/> inside its namespace.</summary>
    public string Address(int i) => $"10.213.{_subnet}.{10 + i}";

    private string Bridge => $"{_id}b";

    private string Veth(int i) => $"{_id}v{i}";

    /// <summary>Makes the bridge and <paramref name="nodes"/> namespaces, after removing what dead harnesses left.</summary>
    public static NetworkNamespaces Create(int nodes)
    {
        if (Unavailable is { } why) throw new InvalidOperationException(why);
        RemoveStale();
        var id = $"{Prefix}{Environment.ProcessId}s{Interlocked.Increment(ref _sequence) % 100}";
        var net = new NetworkNamespaces(id, FreeSubnet(), nodes);
        try
        {
            Ip("link", "add", net.Bridge, "type", "bridge");
            Ip("addr", "add", net.HostAddress + "/24", "dev", net.Bridge);
            Ip("link", "set", net.Bridge, "up");
            for (var i = 0; i < nodes; i++)
            {
                var ns = net.Namespace(i);
                Ip("netns", "add", ns);
                Ip("link", "add", net.Veth(i), "type", "veth", "peer", "name", "eth0", "netns", ns);
                Ip("link", "set", net.Veth(i), "master", net.Bridge, "up");
                Ip("-n", ns, "addr", "add", net.Address(i) + "/24", "dev", "eth0");
                Ip("-n", ns, "link", "set", "eth0", "up");
                Ip("-n", ns, "link", "set", "lo", "up");
            }
            return net;
        }
        catch
        {
            net.Dispose();
            throw;
        }
    }

    /// <summary>Cuts node <paramref name="i"/> off: its veth goes down, nothing passes either way.</summary>
    public void Cut(int i) => Ip("link", "set", Veth(i), "down");

    /// <summary>Heals the cut of node <paramref name="i"/>.</summary>
    public void Heal(int i) => Ip("link", "set", Veth(i), "up");

    /// <summary>Limits node <paramref name="i"/>'s link to <paramref name="rate"/> (a tc rate, such as <c>4mbit</c>) both ways.</summary>
    public void Slow(int i, string rate)
    {
        // Burst about one MTU-sized packet train; the queue holds 200 ms at that rate before tail drops.
        Run("tc", "qdisc", "replace", "dev", Veth(i), "root", "tbf", "rate", rate, "burst", "16kb", "latency", "200ms");
        Run("ip", "netns", "exec", Namespace(i), "tc", "qdisc", "replace", "dev", "eth0", "root", "tbf", "rate", rate, "burst", "16kb", "latency", "200ms");
    }

    /// <summary>Lifts the rate limit of node <paramref name="i"/>.</summary>
    public void Unslow(int i)
    {
        Run("tc", "qdisc", "del", "dev", Veth(i), "root");
        Run("ip", "netns", "exec", Namespace(i), "tc", "qdisc", "del", "dev", "eth0", "root");
    }

    /// <summary>
    /// Bytes sent towards node <paramref name="i"/> through its rate limit, and how often the limit
    /// held packets back (tc's "overlimits"): proof that the limit acted, without timing anything.
    /// </summary>
    public (long Bytes, long Overlimits) Shaped(int i)
    {
        var stats = Run("tc", "-s", "qdisc", "show", "dev", Veth(i));
        var m = ShapedStats().Match(stats);
        if (!m.Success) throw new InvalidOperationException($"no tbf statistics on {Veth(i)}: {stats}");
        return (long.Parse(m.Groups[1].Value), long.Parse(m.Groups[2].Value));
    }

    /// <summary>Removes the veth pairs, the namespaces and the bridge.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        // The veth pairs first: a deleted namespace takes its end with it only once the kernel gets to it.
        for (var i = 0; i < _nodes; i++) TryIp("link", "del", Veth(i));
        for (var i = 0; i < _nodes; i++) TryIp("netns", "del", Namespace(i));
        TryIp("link", "del", Bridge);
    }

    /// <summary>
    /// Removes the namespaces (and the node processes in them), veth pairs and bridges of harnesses whose process is gone (killed before it could
    /// clean up); those of live harnesses (their pid is in the name) stay.
    /// </summary>
    public static void RemoveStale()
    {
        foreach (var ns in Run("ip", "netns", "list").Split('\n').Select(l => l.Split(' ')[0]).Where(IsStale))
        {
            // Node processes a dead harness left running in its namespace go with it.
            try
            {
                foreach (var pid in Run("ip", "netns", "pids", ns).Split('\n', StringSplitOptions.RemoveEmptyEntries))
                    Run("kill", "-KILL", pid.Trim());
            }
            catch (InvalidOperationException)
            {
                // Gone meanwhile.
            }
            TryIp("netns", "del", ns);
        }
        // Bridges and host ends of veth pairs ("name@peer" for a veth).
        foreach (var line in Run("ip", "-o", "link", "show").Split('\n'))
        {
            var name = line.Split(':', 3) is { Length: 3 } parts ? parts[1].Trim().Split('@')[0] : "";
            if (IsStale(name)) TryIp("link", "del", name);
        }
    }

    private static bool IsStale(string name)
    {
        var m = OwnName().Match(name);
        return m.Success && !Directory.Exists($"/proc/{m.Groups[1].Value}");
    }

    /// <summary>A /24 under 10.213 that no interface here has an address in.</summary>
    private static int FreeSubnet()
    {
        var used = Run("ip", "-4", "-o", "addr", "show");
        var start = (Environment.ProcessId + _sequence) % 200;
        for (var k = 0; k < 200; k++)
        {
            var s = 20 + (start + k) % 200;
            if (!used.Contains($" 10.213.{s}.", StringComparison.Ordinal)) return s;
        }
        throw new InvalidOperationException("no free /24 under 10.213.0.0/16");
    }

    private static string? Probe()
    {
        if (!OperatingSystem.IsLinux()) return "network namespaces need Linux";
        if (Environment.UserName != "root" && !IsRootUid()) return "network namespaces need root (CI runs the crash harness as root)";
        var probe = $"{Prefix}{Environment.ProcessId}s99n9";
        try
        {
            Ip("netns", "add", probe);
            Run("ip", "netns", "exec", probe, "tc", "qdisc", "show");
            return null;
        }
        catch (Exception e)
        {
            return "ip netns or tc does not work here: " + e.Message.Split('\n')[0];
        }
        finally
        {
            TryIp("netns", "del", probe);
        }
    }

    private static bool IsRootUid()
    {
        try
        {
            return File.ReadAllLines("/proc/self/status").Any(l => Regex.IsMatch(l, @"^Uid:\s+0\s"));
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static void Ip(params string[] args) => Run(new[] { "ip" }.Concat(args).ToArray());

    private static void TryIp(params string[] args)
    {
        try
        {
            Ip(args);
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Already gone: removal is best effort, the next harness's RemoveStale retries.
        }
    }

    /// <summary>Runs a command to its end; its stdout, or an exception naming it and its stderr.</summary>
    public static string Run(params string[] args)
    {
        var psi = new ProcessStartInfo(args[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args.Skip(1)) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {args[0]}");
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(30_000)) throw new InvalidOperationException($"'{string.Join(' ', args)}' did not end within 30 s");
        if (p.ExitCode != 0) throw new InvalidOperationException($"'{string.Join(' ', args)}' exited {p.ExitCode}: {err.Result.Trim()}");
        return output;
    }

    [GeneratedRegex(@"^ckx(\d+)s\d+(b|n\d+|v\d+)$")]
    private static partial Regex OwnName();

    [GeneratedRegex(@"qdisc tbf .*?\n\s*Sent (\d+) bytes \d+ pkt \(dropped \d+, overlimits (\d+)")]
    private static partial Regex ShapedStats();
}

/// <summary>A fact that needs network namespaces; skipped with one line saying why where there are none.</summary>
internal sealed class NetnsFactAttribute : FactAttribute
{
    public NetnsFactAttribute()
    {
        if (NetworkNamespaces.Unavailable is { } why) Skip = why;
    }
}

using System.Diagnostics;
using System.Text.RegularExpressions;
using Akka.Actor;

namespace ActorCkpt.Cli.Demo;

/// <summary>
/// One <c>actorckpt node</c> process of a <see cref="NodeProcessCluster"/>: its index, roles and
/// memory-tier host, and the address it said it came up on. Restartable: each start is a new
/// process (a new incarnation on a port of its own) with the same index, roles and host.
/// </summary>
internal sealed partial class DemoNodeProcess(int index, string roles, string? host)
{
    private const int ErrorLinesKept = 5;
    private readonly Queue<string> _errors = new();
    private Process? _process;
    private TaskCompletionSource<Address> _up = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The node's index (node 0 first).</summary>
    public int Index => index;

    /// <summary>Its memory-tier host, or null when it takes the configuration's.</summary>
    public string? Host => host;

    /// <summary>The running incarnation's address, once it said it is up.</summary>
    public Address? Address { get; private set; }

    /// <summary>True from <see cref="KillAsync"/> until the next <see cref="Start"/>: the process is gone on purpose.</summary>
    public bool KilledOnPurpose { get; private set; }

    /// <summary>
    /// How the current process ended, for a message: its exit code and its last lines on stderr
    /// (a node that fails says why there, in one line).
    /// </summary>
    public string Ending(string when)
    {
        string[] lines;
        lock (_errors) lines = _errors.ToArray();
        // A node exits 0 when it leaves the cluster by itself: the others removed it (it was unreachable too long).
        var code = Process.ExitCode == 0 ? "left the cluster and exited (code 0; the others remove a node that was unreachable too long)" : $"exited with code {Process.ExitCode}";
        return $"{code} {when}" + (lines.Length == 0 ? "" : $"; its last stderr: {string.Join(" | ", lines)}");
    }

    /// <summary>The current process, for waiting on its end.</summary>
    public Process Process => _process ?? throw new InvalidOperationException($"node {index} was never started");

    /// <summary>Starts a new incarnation joining <paramref name="seed"/>; does not wait for it (see <see cref="UpAsync"/>).</summary>
    public void Start(string configFile, string seed)
    {
        var dll = typeof(NodeProcessCluster).Assembly.Location;
        var dotnet = Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath! : "dotnet";
        var psi = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // Fully optimized code from the first call: the benches time a node's third to fifth save,
        // and with tiered compilation a third of the nodes' CPU then still went to compiling methods
        // again (perf, 1 GiB over 3 nodes); a training host runs long enough to be past that. The
        // demo starts no slower (17.1-17.2 s against 17.9-20.8 s with tiering, 3 nodes).
        psi.Environment["DOTNET_TieredCompilation"] = "0";
        var args = new List<string> { dll, "node", "--config", configFile, "--port", "0", "--seed", seed, "--roles", roles };
        if (host is not null) args.AddRange(new[] { "--host", host });
        foreach (var a in args) psi.ArgumentList.Add(a);
        _up = new(TaskCreationOptions.RunContinuationsAsynchronously);
        Address = null;
        KilledOnPurpose = false;
        lock (_errors) _errors.Clear();
        var errors = _errors;
        var up = _up;
        var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start '{dotnet} {dll} node'");
        // Drained so a chatty node never blocks on a full pipe; the up line gives its address.
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null && UpLine().Match(e.Data) is { Success: true } m)
                up.TrySetResult(new Address("akka.tcp", ClusterNodeConfig.SystemName, m.Groups[1].Value, int.Parse(m.Groups[2].Value)));
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (string.IsNullOrWhiteSpace(e.Data)) return;
            lock (errors)
            {
                errors.Enqueue(e.Data.Trim());
                while (errors.Count > ErrorLinesKept) errors.Dequeue();
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process?.Dispose();
        _process = process;
    }

    /// <summary>The running incarnation's address once it says it is up; throws when it ends first or <paramref name="patience"/> passes.</summary>
    public async Task<Address> UpAsync(TimeSpan patience)
    {
        var exited = Process.WaitForExitAsync();
        var first = await Task.WhenAny(_up.Task, exited).WaitAsync(patience);
        if (first != _up.Task)
        {
            await Process.WaitForExitAsync(); // the stderr read to its end
            throw NodeProcessCluster.NodeEnded(this, "before it was up");
        }
        return Address = await _up.Task;
    }

    /// <summary>SIGKILL, and waits until the process is gone (<see cref="KilledOnPurpose"/> from then on).</summary>
    public async Task KillAsync()
    {
        KilledOnPurpose = true;
        if (!Process.HasExited) Process.Kill();
        await Process.WaitForExitAsync();
    }

    /// <summary>SIGKILL of the process and its children, reaped (briefly waited for): the demo is being interrupted.</summary>
    public void KillNow()
    {
        KilledOnPurpose = true;
        if (_process is not { } process) return;
        try
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            process.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
            // Not started, or gone.
        }
    }

    [GeneratedRegex(@"^node akka\.tcp://actorckpt@([^:]+):(\d+) up, roles")]
    private static partial Regex UpLine();
}

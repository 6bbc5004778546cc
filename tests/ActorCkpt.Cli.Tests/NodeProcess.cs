using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;
using Akka.Actor;

namespace ActorCkpt.Cli.Tests;

/// <summary>
/// One real <c>actorckpt node</c> process of a crash harness: its roles, its own config file (so a
/// kill point applies to this node only), its network namespace when it has one, and its output,
/// kept for failure messages and for the kill point's last word. Restartable: each start is a new
/// process (a new incarnation, on a port of its own) with the same name and roles.
/// </summary>
internal sealed partial class NodeProcess(string name, string roles, string configFile, string host, string? netns)
{
    private readonly ConcurrentQueue<string> _lines = new();
    private Process? _process;
    private TaskCompletionSource<Address> _up = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The node's name in messages (planner, writer-1, rank-0 ...).</summary>
    public string Name => name;

    /// <summary>The roles it is started with.</summary>
    public string Roles => roles;

    /// <summary>The namespace it runs in, or null on loopback.</summary>
    public string? Netns => netns;

    /// <summary>The address of the running incarnation, once it is up.</summary>
    public Address? Address { get; private set; }

    /// <summary>Completes with the exit code when the current process ends.</summary>
    public Task<int> Exited => _exited.Task;

    /// <summary>True while the current process runs.</summary>
    public bool Running => _process is { HasExited: false };

    /// <summary>Everything the node printed (both streams), for failure messages.</summary>
    public string Output => string.Join("\n", _lines.TakeLast(60));

    /// <summary>
    /// Starts the node with <paramref name="hocon"/> as its config, joining <paramref name="seed"/>;
    /// completes with its address once it says it is up.
    /// </summary>
    public async Task<Address> StartAsync(string hocon, string seed, TimeSpan patience)
    {
        if (Running) throw new InvalidOperationException($"{name} is running already");
        await File.WriteAllTextAsync(configFile, hocon + $"\nakka.remote.dot-netty.tcp.hostname = \"{host}\"\n");
        _up = new(TaskCreationOptions.RunContinuationsAsynchronously);
        _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
        _lines.Clear();
        var cli = new[] { Dotnet, typeof(ActorCkptCli).Assembly.Location, "node", "--config", configFile, "--port", "0", "--seed", seed, "--roles", roles };
        var command = netns is null ? cli : new[] { "ip", "netns", "exec", netns }.Concat(cli).ToArray();
        var psi = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in command.Skip(1)) psi.ArgumentList.Add(a);
        var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {name}");
        process.EnableRaisingEvents = true;
        var exited = _exited;
        process.Exited += (_, _) => exited.TrySetResult(process.ExitCode);
        process.OutputDataReceived += (_, e) => Heard(e.Data);
        process.ErrorDataReceived += (_, e) => Heard(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        var up = await Task.WhenAny(_up.Task, exited.Task).WaitAsync(patience);
        if (up != _up.Task) throw new InvalidOperationException($"{name} exited {exited.Task.Result} before it was up:\n{Output}");
        Address = _up.Task.Result;
        return Address;
    }

    /// <summary>Kills the current process with SIGKILL and waits for it.</summary>
    public async Task KillAsync()
    {
        if (_process is null) return;
        if (!_process.HasExited)
        {
            // ip netns exec execs the node, so the pid is the node's own.
            _process.Kill();
        }
        await _process.WaitForExitAsync();
    }

    /// <summary>Asks the node to leave the cluster (SIGTERM) and waits for its process; kills it when it does not end within 30 s.</summary>
    public async Task StopAsync()
    {
        if (_process is not { HasExited: false } p) return;
        using (var term = Process.Start("kill", new[] { "-TERM", p.Id.ToString() })!) await term.WaitForExitAsync();
        try
        {
            await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            await KillAsync();
        }
    }

    /// <summary>
    /// Waits until the process has killed itself at <paramref name="point"/> of <paramref name="step"/>
    /// (its fault-injection setting): it died of SIGKILL, right after saying so.
    /// </summary>
    public async Task AssertKilledAtAsync(string point, long step, TimeSpan patience)
    {
        var code = await Exited.WaitAsync(patience);
        await _process!.WaitForExitAsync();
        Assert.True(code == 137, $"{name}: expected death by SIGKILL at '{point}' of step {step}, got exit {code}\n{Output}");
        Assert.Contains(_lines, l => l.Contains($"fault injection kills the process at '{point}' of step {step}", StringComparison.Ordinal));
    }

    private void Heard(string? line)
    {
        if (line is null) return;
        _lines.Enqueue(line);
        if (_lines.Count > 400) _lines.TryDequeue(out _);
        if (UpLine().Match(line) is { Success: true } m)
            _up.TrySetResult(new Address("akka.tcp", ClusterNodeConfig.SystemName, m.Groups[1].Value, int.Parse(m.Groups[2].Value)));
    }

    private static string Dotnet =>
        Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath! : "dotnet";

    [GeneratedRegex(@"^node akka\.tcp://actorckpt@([^:]+):(\d+) up, roles")]
    private static partial Regex UpLine();
}

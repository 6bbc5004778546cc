using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using ActorCkpt.Cli;

namespace ActorCkpt.Cli.Tests;

/// <summary>
/// A real <c>actorckpt demo --nodes 2</c> child and its node processes: SIGTERM (or Ctrl-C) kills and
/// reaps the nodes and ends the demo at once, in one line; a node that dies mid-run fails the demo at
/// once, naming the node and how it ended, instead of after the driver's two-minute ask patience.
/// </summary>
public sealed class DemoProcessFailureSpec : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);
    private readonly TempDirectory _temp = new();

    // The memory demo's replicas, which a demo leaves in place: in a tmpfs directory of this test's, removed at its end.
    private readonly string _shm = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), "actorckpt-demo-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        _temp.Dispose();
        if (Directory.Exists(_shm)) Directory.Delete(_shm, recursive: true);
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);

    /// <summary>A demo of many steps across two node processes (or in this one), its stdout and stderr read as they come.</summary>
    private Process StartDemo(StringBuilder stdout, StringBuilder stderr, TaskCompletionSource saved, bool nodes = true, bool memory = false)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { typeof(ActorCkptCli).Assembly.Location, "demo", "--dir", Path.Combine(_temp.Path, "ckpt"), "--ranks", memory ? "2" : "1",
                     "--size-mb", "1", "--tensors", "2", "--steps", "10000" }.Concat(nodes ? ["--nodes", "2"] : Array.Empty<string>())
                     .Concat(memory ? ["--tier", "memory", "--replicas-dir", Path.Combine(_shm, "replicas")] : Array.Empty<string>()))
            psi.ArgumentList.Add(a);
        var child = Process.Start(psi)!;
        child.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stdout) stdout.AppendLine(e.Data);
            // "saved step 2 on …" across nodes, "saved step 2: …" in one process.
            if (e.Data.StartsWith("saved step 2 ", StringComparison.Ordinal) || e.Data.StartsWith("saved step 2:", StringComparison.Ordinal)) saved.TrySetResult();
        };
        child.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data);
        };
        child.BeginOutputReadLine();
        child.BeginErrorReadLine();
        return child;
    }

    /// <summary>The processes whose parent is <paramref name="pid"/>, with their command lines.</summary>
    private static List<(int Pid, string Command)> Children(int pid) =>
        Directory.GetDirectories("/proc").Select(Path.GetFileName).Where(n => int.TryParse(n, out _)).Select(int.Parse!)
            .Select(p =>
            {
                try
                {
                    var stat = File.ReadAllText($"/proc/{p}/stat");
                    var parent = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1]);
                    return (Pid: p, Parent: parent, Command: File.ReadAllText($"/proc/{p}/cmdline").Replace('\0', ' '));
                }
                catch (IOException)
                {
                    return (Pid: p, Parent: -1, Command: "");
                }
            })
            .Where(p => p.Parent == pid && p.Command.Contains(" node ", StringComparison.Ordinal)).Select(p => (p.Pid, p.Command)).ToList();

    private static bool Alive(int pid) => File.Exists($"/proc/{pid}/stat") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal);

    /// <summary>Runs the demo until it saved step 2, then <paramref name="interrupt"/>s it; how it ended.</summary>
    private async Task<(int Exit, string Out, string Err)> InterruptedAsync(Action<Process> interrupt, bool memory = false)
    {
        StringBuilder stdout = new(), stderr = new();
        var saved = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var demo = StartDemo(stdout, stderr, saved, memory: memory);
        try
        {
            await saved.Task.WaitAsync(Patience);
            interrupt(demo);
            await demo.WaitForExitAsync().WaitAsync(Patience);
        }
        finally
        {
            if (!demo.HasExited) demo.Kill(entireProcessTree: true);
        }
        return (demo.ExitCode, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task A_memory_demo_whose_node_dies_during_a_save_should_still_end_with_its_json_report()
    {
        Directory.CreateDirectory(_temp.Path);
        var kill = Path.Combine(_temp.Path, "kill.conf");
        await File.WriteAllTextAsync(kill, "actorckpt.fault-injection.kill-at { point = file-written, step = 2 }\n");

        // The replicas, which a demo leaves in place, in a tmpfs directory of this test's, removed at its end.
        var replicas = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), "actorckpt-demo-" + Guid.NewGuid().ToString("N"));
        (int Exit, string Out, string Err) run;
        try
        {
            run = await ToolRun.RunAsync(Patience, "demo", "--dir", Path.Combine(_temp.Path, "mem"), "--nodes", "2", "--tier", "memory",
                "--size-mb", "1", "--steps", "3", "--json", "--config", kill, "--replicas-dir", replicas);
        }
        finally
        {
            if (Directory.Exists(replicas)) Directory.Delete(replicas, recursive: true);
        }
        var (exit, stdout, stderr) = run;

        // Before, the node's death escaped the save loop: the error on stderr, no report on stdout.
        Assert.Equal(1, exit);
        var report = System.Text.Json.JsonDocument.Parse(stdout.TrimEnd().Split('\n')[^1]).RootElement;
        Assert.False(report.GetProperty("bit_exact").GetBoolean());
        Assert.StartsWith("node ", report.GetProperty("error").GetString());
        Assert.Contains("exited with code 137 while the driver waited for its answer", report.GetProperty("error").GetString());
        Assert.Contains($"actorckpt: {report.GetProperty("error").GetString()}", stderr);
    }

    [Fact]
    public async Task A_demo_in_one_process_sent_sigterm_should_stop_between_steps_and_exit_143_saying_where()
    {
        var (stdout, stderr, saved) = (new StringBuilder(), new StringBuilder(), new TaskCompletionSource());
        using var child = StartDemo(stdout, stderr, saved, nodes: false);
        try
        {
            await saved.Task.WaitAsync(Patience);
            Assert.Equal(0, SendSignal(child.Id, 15));
            await child.WaitForExitAsync().WaitAsync(Patience);
        }
        finally
        {
            if (!child.HasExited) child.Kill(entireProcessTree: true);
        }

        // Before: the signal stopped the actor system under the save, and the demo failed (exit 1) saying
        // "the actor system 'actorckpt' has stopped: the save of step N was not started".
        Assert.True(child.ExitCode == 143, $"expected the exit of SIGTERM, got {child.ExitCode}\n{stdout}\n{stderr}");
        var lastSaved = stdout.ToString().Split('\n').Where(l => l.StartsWith("saved step ", StringComparison.Ordinal)).Select(l => long.Parse(l.Split(' ')[2].TrimEnd(':'))).Max();
        Assert.Equal($"actorckpt: demo interrupted before step {lastSaved + 1}: the steps before it are committed", stderr.ToString().Trim());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_demo_stopped_by_sigterm_should_kill_its_node_processes_and_end_at_once(bool memory)
    {
        var nodes = new List<(int Pid, string Command)>();

        var run = await InterruptedAsync(demo =>
        {
            nodes = Children(demo.Id);
            Assert.Equal(2, nodes.Count);
            Assert.Equal(0, SendSignal(demo.Id, 15));
        }, memory);

        Assert.True(run.Exit == 143, $"exit {run.Exit}\n{run.Out}\n{run.Err}");
        // One line: before, a wait of the driver's on the nodes the handler killed often said first "node 0 exited with code 137 …".
        Assert.Equal("actorckpt: demo interrupted: its 2 node processes were killed", run.Err.Trim());
        Assert.DoesNotContain(nodes, n => Alive(n.Pid));
        // The nodes' configuration file (named on their command lines) is gone too.
        var config = nodes[0].Command.Split(' ').SkipWhile(a => a != "--config").Skip(1).First();
        Assert.False(File.Exists(config), config);
    }

    [Fact]
    public async Task A_memory_bench_stopped_by_sigterm_should_remove_its_replicas_from_tmpfs_and_say_bench()
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { typeof(ActorCkptCli).Assembly.Location, "bench", "--dir", Path.Combine(_temp.Path, "b"), "--nodes", "2", "--tier", "memory",
                     "--size-mb", "2", "--tensors", "2", "--runs", "100" })
            psi.ArgumentList.Add(a);
        using var bench = Process.Start(psi)!;
        var err = bench.StandardError.ReadToEndAsync();
        var output = bench.StandardOutput.ReadToEndAsync();
        try
        {
            // Its replica directory (a name of its own on tmpfs, in the nodes' configuration file), once the nodes have written there.
            string? replicas = null;
            var waited = Stopwatch.StartNew();
            while (replicas is null || !Directory.Exists(replicas) || Directory.GetFiles(replicas, "*", SearchOption.AllDirectories).Length == 0)
            {
                if (bench.HasExited) Assert.Fail($"the bench ended before its nodes wrote a replica (exit {bench.ExitCode}): " + await err + await output);
                if (waited.Elapsed > Patience) Assert.Fail("the bench's nodes wrote no replica in time");
                if (Children(bench.Id).FirstOrDefault() is { Command: { } command } && command.Split(' ').SkipWhile(a => a != "--config").Skip(1).FirstOrDefault() is { } config
                    && File.Exists(config) && System.Text.RegularExpressions.Regex.Match(File.ReadAllText(config), "\"(/[^\"]*actorckpt-bench-[0-9a-f]{12})\"") is { Success: true } m)
                    replicas = m.Groups[1].Value;
                await Task.Delay(100);
            }
            Assert.Equal(0, SendSignal(bench.Id, 15));
            await bench.WaitForExitAsync().WaitAsync(Patience);

            Assert.True(bench.ExitCode == 143, $"exit {bench.ExitCode}: {await err}");
            // Before, it said "demo interrupted" and left its replicas on tmpfs for good, under a name no later run looks for.
            Assert.Equal($"actorckpt: bench interrupted: its 2 node processes were killed, and its replicas under {replicas} removed", (await err).Trim());
            Assert.False(Directory.Exists(replicas), replicas);
        }
        finally
        {
            if (!bench.HasExited) bench.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public async Task A_node_process_dying_mid_run_should_fail_the_demo_at_once_naming_it_and_its_exit()
    {
        // Before, the driver waited out its two-minute ask patience, then named no node; later it asked
        // the survivor to leave a cluster that could not converge (30 s), and its log printed traces.
        var nodes = new List<(int Pid, string Command)>();
        var run = await InterruptedAsync(demo =>
        {
            nodes = Children(demo.Id);
            Assert.Equal(0, SendSignal(nodes.First(n => n.Command.Contains("rank,writer,planner", StringComparison.Ordinal)).Pid, 9));
        });

        Assert.True(run.Exit == 1, $"exit {run.Exit}\n{run.Out}\n{run.Err}");
        Assert.Equal("actorckpt: node 0 exited with code 137 while the driver waited for its answer", run.Err.Trim());
        Assert.DoesNotContain(nodes, n => Alive(n.Pid));
    }
}

using System.Diagnostics;
using System.Text.Json;
using ActorCkpt.Cli;

namespace ActorCkpt.Cli.Tests;

/// <summary>
/// Runs `actorckpt demo` saving several steps in a child process, kills it with SIGKILL (at a
/// protocol phase through the fault-injection setting, or after a delay), then checks what a crash
/// must never break: every committed step survives (unless retention deleted it), `inspect` reports
/// only committed steps, `demo --check` loads the newest bit-exact, the catalog agrees with the
/// disk, and the next save commits and leaves no debris behind.
/// </summary>
internal sealed class CrashHarness : IDisposable
{
    /// <summary>
    /// Retention keeps the newest three, so deletions (and the "deleting" phase) happen too, at once
    /// (no grace after start: no load runs beside these saves).
    /// </summary>
    private const string CommonConfig = "actorckpt.retention { keep-last = 3, grace-after-start = 0s }\nakka.loglevel = WARNING\n";

    private static readonly string[] DemoShape = { "--ranks", "2", "--load-ranks", "3", "--size-mb", "3", "--tensors", "8" };
    private readonly TempDirectory _temp = new();

    public CrashHarness()
    {
        Directory.CreateDirectory(Root);
        File.WriteAllText(ConfigFile(null), CommonConfig);
    }

    public string Root => System.IO.Path.Combine(_temp.Path, "ckpt");

    public void Dispose() => _temp.Dispose();

    /// <summary>The newest committed step on disk, or 0.</summary>
    public long Latest => Committed().LastOrDefault();

    /// <summary>Steps whose directory holds metadata: the disk's own word on what is committed.</summary>
    public IReadOnlyList<long> Committed() => new CheckpointStore(new LocalBlobStore(Root)).CommittedSteps();

    /// <summary>
    /// Runs the demo saving <paramref name="steps"/> steps in a child process that kills itself at
    /// <paramref name="point"/> of <paramref name="step"/>; returns its stderr. Asserts it died of SIGKILL there.
    /// </summary>
    public async Task<string> KillAtAsync(string point, long step, int steps = 3)
    {
        var config = ConfigFile(point);
        await File.WriteAllTextAsync(config, CommonConfig + $"actorckpt.fault-injection.kill-at {{ point = {point}, step = {step} }}\n");
        using var child = StartDemo(config, steps);
        var stderr = child.StandardError.ReadToEndAsync();
        var stdout = child.StandardOutput.ReadToEndAsync();
        await child.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        var err = await stderr;
        Assert.True(child.ExitCode == 137, $"expected death by SIGKILL at {point} of step {step}, got exit {child.ExitCode}\n{await stdout}\n{err}");
        Assert.Contains($"kills the process at '{point}' of step {step}", err);
        return err;
    }

    /// <summary>Runs the demo in a child process and kills it with SIGKILL after <paramref name="delay"/> unless it has ended by then.</summary>
    public async Task<bool> KillAfterAsync(TimeSpan delay, int steps = 4)
    {
        using var child = StartDemo(ConfigFile(null), steps);
        var drain = Task.WhenAll(child.StandardError.ReadToEndAsync(), child.StandardOutput.ReadToEndAsync());
        var exited = child.WaitForExitAsync();
        var killed = await Task.WhenAny(exited, Task.Delay(delay)) != exited;
        if (killed) child.Kill();
        await exited.WaitAsync(TimeSpan.FromMinutes(2));
        var output = await drain;
        // A run that ended before the kill must have ended well: one that failed on its own would
        // otherwise pass as a crash survived.
        if (!killed) Assert.True(child.ExitCode == 0, $"the demo ended on its own with exit {child.ExitCode}\n{output[1]}\n{output[0]}");
        return killed;
    }

    /// <summary>
    /// The checks after a crash. <paramref name="before"/> is what was committed before the crashed
    /// run; returns what is committed once the next save has succeeded.
    /// </summary>
    public IReadOnlyList<long> AssertRecovered(IReadOnlyList<long> before, string what)
    {
        var afterCrash = Committed();
        // Nothing committed is lost: the newest step committed before the run is still there, or
        // newer ones are and retention deleted it.
        if (before.Count > 0)
            Assert.True(afterCrash.Contains(before[^1]) || afterCrash.Count(s => s > before[^1]) >= 3,
                $"{what}: step {before[^1]} was committed before the crash and is gone; committed now: [{string.Join(", ", afterCrash)}]");

        // inspect reports exactly the committed steps, none of the debris.
        var inspect = Json(Cli("inspect", Root, "--json"), what);
        Assert.Equal(afterCrash, inspect.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("step").GetInt64()).ToArray());

        // The newest committed step loads bit-exact (this starts a planner: recovery settles the catalog).
        if (afterCrash.Count > 0)
        {
            var check = Json(Cli(new[] { "demo", "--dir", Root, "--check", "--json", "--config", ConfigFile(null) }.Concat(DemoShape).ToArray()), what);
            Assert.True(check.GetProperty("bit_exact").GetBoolean(), $"{what}: the newest committed step did not load bit-exact");
            Assert.Equal(afterCrash[^1], check.GetProperty("step").GetInt64());
        }
        AssertCatalogAgreesWithDisk(what);

        // The next save succeeds and leaves no debris.
        var next = Json(Cli(new[] { "demo", "--dir", Root, "--steps", "1", "--json", "--config", ConfigFile(null) }.Concat(DemoShape).ToArray()), what);
        Assert.True(next.GetProperty("bit_exact").GetBoolean(), $"{what}: the save after the crash did not load back bit-exact");
        var after = Committed();
        Assert.Equal(after[^1], next.GetProperty("step").GetInt64());
        // The demo goes on after the newest step on disk, which the crash and the check left as it was.
        Assert.True(after[^1] == afterCrash.LastOrDefault() + 1, $"{what}: the save after the crash committed step {after[^1]}, not the one after {afterCrash.LastOrDefault()}");
        AssertCatalogAgreesWithDisk(what);
        return after;
    }

    /// <summary>
    /// The catalog calls committed exactly the steps with metadata, and no step directory without
    /// metadata remains unless the catalog says it is deleted (retention removes files in the
    /// background; a process that exits meanwhile leaves them to the next planner start).
    /// </summary>
    private void AssertCatalogAgreesWithDisk(string what)
    {
        var store = new CheckpointStore(new LocalBlobStore(Root));
        var withoutMetadata = store.ScanSteps(_ => false).Steps.Where(d => d.Commit is null).Select(d => d.Step).ToArray();
        if (!File.Exists(System.IO.Path.Combine(Root, CheckpointLayout.RootIdFile)))
        {
            // Killed before any planner started: then nothing can be committed either.
            Assert.Empty(store.CommittedSteps());
            return;
        }
        var ls = Json(Cli("ls", Root, "--json"), what);
        var entries = ls.GetProperty("checkpoints").EnumerateArray()
            .ToDictionary(c => c.GetProperty("step").GetInt64(), c => c.GetProperty("status").GetString());
        var committed = entries.Where(e => e.Value == "committed").Select(e => e.Key).Order().ToArray();
        Assert.Equal(store.CommittedSteps(), committed);
        var debris = withoutMetadata.Where(s => entries.GetValueOrDefault(s) != "deleted").ToArray();
        Assert.True(debris.Length == 0, $"{what}: debris left in steps [{string.Join(", ", debris)}]");
        Assert.DoesNotContain(ls.GetProperty("checkpoints").EnumerateArray(), c => c.GetProperty("status").GetString() == "in-flight");
    }

    private Process StartDemo(string config, int steps)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { typeof(ActorCkptCli).Assembly.Location, "demo", "--dir", Root, "--steps", steps.ToString(), "--config", config }.Concat(DemoShape))
            psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    private string ConfigFile(string? point) => System.IO.Path.Combine(_temp.Path, (point ?? "common") + ".conf");

    private static (int Exit, string Out, string Err) Cli(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = ActorCkptCli.Run(args, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    private static JsonElement Json((int Exit, string Out, string Err) run, string what)
    {
        Assert.True(run.Exit == 0, $"{what}: exit {run.Exit}\n{run.Out}\n{run.Err}");
        return JsonDocument.Parse(run.Out.TrimEnd().Split('\n')[^1]).RootElement;
    }
}

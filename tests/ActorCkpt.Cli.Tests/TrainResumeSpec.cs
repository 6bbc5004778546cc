using System.Diagnostics;
using System.Globalization;
using ActorCkpt.Cli;

namespace ActorCkpt.Cli.Tests;

/// <summary>
/// `actorckpt train` killed and resumed prints, for every step after the resume, exactly the losses
/// of a run that was never stopped: model, optimizer, scheduler, RNG, counters and data loader all
/// came back bit-exact. Every run is a child process, killed with SIGKILL.
/// </summary>
public sealed class TrainResumeSpec : IDisposable
{
    private const int Steps = 40;
    private readonly TempDirectory _temp = new();

    public TrainResumeSpec() => Directory.CreateDirectory(_temp.Path);

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_run_killed_mid_training_resumes_bit_exact()
    {
        var reference = await RunAsync(Dir("reference"), Steps, "--ranks", "2");
        Assert.Equal(Enumerable.Range(1, Steps).Select(i => (long)i), reference.Keys);

        // SIGKILL right after step 23, between saves: those of steps 5 to 20 may or may not have committed.
        var dir = Dir("killed");
        var output = await RunKilledAsync(dir, "actorckpt.fault-injection.kill-at { point = trained, step = 23 }");
        Assert.EndsWith($"step 23 loss {reference[23]}", output.TrimEnd());
        var resumed = await RunAsync(dir, Steps, "--ranks", "2", "--resume");
        AssertResumedExactly(reference, resumed, earliest: 5, latest: 20);
    }

    [Fact]
    public async Task A_run_killed_inside_a_save_resumes_bit_exact_from_the_save_before()
    {
        var reference = await RunAsync(Dir("reference"), Steps, "--ranks", "2");
        var dir = Dir("killed");
        await RunKilledAsync(dir, "actorckpt.fault-injection.kill-at { point = file-written, step = 15 }");
        var resumed = await RunAsync(dir, Steps, "--ranks", "2", "--resume");
        AssertResumedExactly(reference, resumed, earliest: 10, latest: 10);
    }

    [Fact]
    public async Task A_run_resumed_on_another_rank_count_follows_the_same_losses_up_to_rounding()
    {
        var reference = await RunAsync(Dir("reference"), Steps, "--ranks", "2");
        var dir = Dir("resharded");
        await RunAsync(dir, 20, "--ranks", "2");
        var resumed = await RunAsync(dir, Steps, "--ranks", "3", "--resume");
        Assert.Equal(Enumerable.Range(21, Steps - 20).Select(i => (long)i), resumed.Keys);
        foreach (var (step, loss) in resumed)
        {
            var expected = float.Parse(reference[step], CultureInfo.InvariantCulture);
            var actual = float.Parse(loss, CultureInfo.InvariantCulture);
            Assert.True(Math.Abs(actual - expected) <= 1e-4 * Math.Abs(expected), $"step {step}: {loss} on 3 ranks, {reference[step]} on 2");
        }
    }

    private static void AssertResumedExactly(SortedDictionary<long, string> reference, SortedDictionary<long, string> resumed, long earliest, long latest)
    {
        var from = resumed.Keys.First() - 1;
        Assert.InRange(from, earliest, latest);
        Assert.Equal(Enumerable.Range((int)from + 1, Steps - (int)from).Select(i => (long)i), resumed.Keys);
        foreach (var (step, loss) in resumed)
            Assert.True(reference[step] == loss, $"step {step}: loss {loss} after the resume, {reference[step]} uninterrupted");
    }

    private string Dir(string name) => Path.Combine(_temp.Path, name);

    /// <summary>Runs `actorckpt train` on 2 ranks with a kill point in its configuration; asserts it died by SIGKILL and returns its output.</summary>
    private async Task<string> RunKilledAsync(string dir, string killAt)
    {
        var config = Path.Combine(_temp.Path, "kill.conf");
        await File.WriteAllTextAsync(config, killAt + "\nakka.loglevel = WARNING\n");
        using var child = Start(dir, Steps, "--ranks", "2", "--config", config);
        var stderr = child.StandardError.ReadToEndAsync();
        var output = await child.StandardOutput.ReadToEndAsync();
        await child.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        Assert.True(child.ExitCode == 137, $"expected death by SIGKILL ({killAt}), got exit {child.ExitCode}\n{output}\n{await stderr}");
        return output;
    }

    /// <summary>Runs `actorckpt train` to step <paramref name="steps"/>; returns its losses by step.</summary>
    private static async Task<SortedDictionary<long, string>> RunAsync(string dir, int steps, params string[] args)
    {
        using var child = Start(dir, steps, args);
        var stderr = child.StandardError.ReadToEndAsync();
        var output = await child.StandardOutput.ReadToEndAsync();
        await child.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        Assert.True(child.ExitCode == 0, $"train {string.Join(' ', args)}: exit {child.ExitCode}\n{output}\n{await stderr}");
        var losses = new SortedDictionary<long, string>();
        foreach (var line in output.Split('\n').Where(l => l.StartsWith("step ", StringComparison.Ordinal)))
        {
            var parts = line.Trim().Split(' ');
            Assert.True(parts is [_, _, "loss", _], $"not a loss line: '{line}'");
            losses.Add(long.Parse(parts[1], CultureInfo.InvariantCulture), parts[3]);
        }
        return losses;
    }

    private static Process Start(string dir, int steps, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { typeof(ActorCkptCli).Assembly.Location, "train", "--dir", dir, "--steps", steps.ToString(CultureInfo.InvariantCulture), "--ckpt-every", "5" }.Concat(args))
            psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }
}

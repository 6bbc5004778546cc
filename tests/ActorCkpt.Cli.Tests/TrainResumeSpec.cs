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
    public async Task A_second_run_without_resume_on_a_root_with_checkpoints_should_be_refused_before_it_trains()
    {
        var dir = Dir("twice");
        var (first, _, firstErr) = await ToolRun.RunAsync(TimeSpan.FromMinutes(3), "train", "--dir", dir, "--steps", "10", "--ckpt-every", "5", "--ranks", "1");
        Assert.True(first == 0, firstErr);

        // Before: it trained from step 1, failed the saves of steps the first run had, and committed the others among them.
        var (exit, stdout, stderr) = await ToolRun.RunAsync(TimeSpan.FromMinutes(3), "train", "--dir", dir, "--steps", "12", "--ckpt-every", "4", "--seed", "2", "--ranks", "1");

        Assert.Equal((1, $"actorckpt: '{dir}' holds the checkpoints of a run already (the newest is step 10): pass --resume to continue it, or give a --dir of its own"),
            (exit, stderr.TrimEnd()));
        Assert.DoesNotContain("step 1 loss", stdout);
        Assert.Equal([5L, 10L], CheckpointReader.Open(dir).Steps);
    }

    [Fact]
    public async Task A_resume_with_another_seed_should_be_refused_and_one_past_steps_should_say_there_is_nothing_to_train()
    {
        var dir = Dir("seeded");
        var (first, _, firstErr) = await ToolRun.RunAsync(TimeSpan.FromMinutes(3), "train", "--dir", dir, "--steps", "10", "--ckpt-every", "5", "--ranks", "1", "--seed", "3");
        Assert.True(first == 0, firstErr);

        // Before: it trained the loaded model on the data of seed 4, a run neither seed would give.
        var (exit, stdout, stderr) = await ToolRun.RunAsync(TimeSpan.FromMinutes(3), "train", "--dir", dir, "--steps", "12", "--ranks", "1", "--seed", "4", "--resume");
        Assert.Equal((1, $"actorckpt: --seed 4: the run in '{dir}' was trained with --seed 3 (step 10); resume it with that seed"), (exit, stderr.TrimEnd()));
        Assert.DoesNotContain("step 11 loss", stdout);
        Assert.Equal([5L, 10L], CheckpointReader.Open(dir).Steps);

        var (done, doneOut, doneErr) = await ToolRun.RunAsync(TimeSpan.FromMinutes(3), "train", "--dir", dir, "--steps", "8", "--ranks", "1", "--seed", "3", "--resume");
        Assert.True(done == 0, doneErr);
        Assert.Equal(["resumed from step 10 (saved on 1 ranks)", "step 10 is at or past --steps 8: nothing to train"],
            doneOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Take(2));
        Assert.DoesNotContain(" loss ", doneOut);
    }

    [Theory]
    [InlineData("metadata gone")]
    [InlineData("another step's copy")]
    public async Task A_resume_should_go_by_the_catalogs_newest_committed_step_not_by_the_directories(string tampered)
    {
        var dir = Dir("tampered");
        var (first, _, firstErr) = await ToolRun.RunAsync(TimeSpan.FromMinutes(3), "train", "--dir", dir, "--steps", "15", "--ckpt-every", "5", "--ranks", "1");
        Assert.True(first == 0, firstErr);
        if (tampered == "metadata gone") File.Delete(Path.Combine(dir, CheckpointLayout.InStep(15, CheckpointLayout.MetadataFile)));
        else CopyDirectory(Path.Combine(dir, CheckpointLayout.StepDirectory(10)), Path.Combine(dir, CheckpointLayout.StepDirectory(20)));

        var (exit, stdout, stderr) = await ToolRun.RunAsync(TimeSpan.FromMinutes(3), "train", "--dir", dir, "--steps", "17", "--ranks", "1", "--resume");

        if (tampered == "metadata gone")
        {
            // Before: "resumed from step 10", and steps 11 to 17 trained again over a step 15 the catalog still holds committed.
            Assert.Equal(1, exit);
            Assert.Contains("step 15", stderr);
            Assert.Contains(CheckpointLayout.InStep(15, CheckpointLayout.MetadataFile), stderr);
            Assert.DoesNotContain("resumed from", stdout);
            Assert.DoesNotContain(" loss ", stdout);
        }
        else
        {
            // Before: "step 20 is not a committed checkpoint", the directory the planner had refused taken for the newest.
            Assert.True(exit == 0, stderr);
            Assert.StartsWith("resumed from step 15 (saved on 1 ranks)", stdout);
        }
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
    }

    [Fact]
    public async Task A_run_whose_start_fails_should_print_one_line_on_stderr_and_nothing_on_stdout()
    {
        var file = Path.Combine(_temp.Path, "not-a-directory");
        await File.WriteAllTextAsync(file, "");
        var config = Path.Combine(_temp.Path, "memory.conf");
        await File.WriteAllTextAsync(config, $"actorckpt.tiers.memory {{ enabled = on, replicas = 1, directory = \"{file}/replicas\" }}");

        // Child processes: Akka.Hosting writes a failed start to the process's console. Before: some
        // 70 lines of stack traces there, and the line said "could not find a part of the path".
        Assert.Equal((1, "", $"actorckpt: actorckpt.tiers.memory.directory = '{file}/replicas': the replicas cannot be kept there: '{file}' is a file, not a directory\n"),
            await StartFailedAsync(Dir("blocked"), "--config", config));

        // A root another job holds: before, 19 lines of its RootLockedException's trace on stdout.
        var held = Dir("held");
        await using (Checkpointer.Start(held))
        {
            var (exit, stdout, stderr) = await StartFailedAsync(held, "--resume");
            Assert.Equal((1, ""), (exit, stdout));
            Assert.StartsWith($"actorckpt: the checkpoint root '{held}' is held by another checkpointer: ", stderr);
            Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
    }

    [Fact]
    public async Task Akkas_warnings_should_come_on_stderr_one_line_each_as_every_command_prints_them()
    {
        var dir = Dir("logged");
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, "step-00000005"), "in the way");

        // A process of its own: the tool's log goes to the process's stderr, which a run in this process cannot capture.
        using var child = Start(dir, 5, "--ranks", "2");
        var stderr = child.StandardError.ReadToEndAsync();
        await child.StandardOutput.ReadToEndAsync();
        await child.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));

        Assert.Equal(1, child.ExitCode);
        // Before: the host's console logger, "warn: Akka.Actor.ActorSystem[0] [WARNING][date][Thread 0007][path] …",
        // and each cause with its whole stack trace.
        Assert.Equal([$"[WARNING] akka://actorckpt/user/actorckpt-planner/planner: Aborted step 5: The file '{Path.Combine(dir, "step-00000005")}' already exists."],
            (await stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("actorckpt: ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_run_whose_saves_fail_should_go_on_training_and_end_with_exit_1_and_one_line_naming_the_first()
    {
        // A file where step 2's directory goes: both ranks' saves of step 2 fail, step 4's commit.
        var dir = Dir("blocked-step");
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, "step-00000002"), "in the way");

        var (exit, stdout, stderr) = await ToolRun.RunAsync(TimeSpan.FromMinutes(3), "train", "--dir", dir, "--steps", "4", "--ckpt-every", "2", "--ranks", "2");

        Assert.Equal(1, exit);
        Assert.Contains("step 4 loss ", stdout);
        Assert.Contains("latest_checkpoint: 4\n", stdout);
        Assert.Contains("failed_checkpoints: 1\n", stdout);
        Assert.Contains("failed_saves: 2\n", stdout);
        var failures = stderr.Split('\n').Where(l => l.StartsWith("actorckpt: ", StringComparison.Ordinal)).ToArray();
        Assert.True(failures.Length == 1, stderr);
        var failure = failures[0];
        // Before: "2 of 4 saves did not commit", each rank's save of one checkpoint counted.
        Assert.StartsWith("actorckpt: 1 of 2 checkpoints did not commit (2 of 4 saves of their ranks); the first: step 2 on rank ", failure);
        Assert.EndsWith($"save of step 2 failed: The file '{Path.Combine(dir, "step-00000002")}' already exists.", failure);
    }

    private static async Task<(int Exit, string Out, string Err)> StartFailedAsync(string dir, params string[] args)
    {
        using var child = Start(dir, 2, ["--ranks", "1", .. args]);
        var stderr = child.StandardError.ReadToEndAsync();
        var stdout = await child.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromMinutes(2));
        await child.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        return (child.ExitCode, stdout, await stderr);
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

    [Fact]
    public async Task A_run_sent_sigterm_should_stop_between_steps_let_its_saves_end_and_exit_143()
    {
        // A preemption: before, the run trained on to its last step and exited 0.
        var dir = Dir("preempted");
        using var child = Start(dir, 1_000_000, "--ranks", "2");
        var stderr = child.StandardError.ReadToEndAsync();
        var seen = new List<string>();
        try
        {
            while (await child.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(2)) is { } line)
            {
                seen.Add(line);
                if (line.StartsWith("step 12 ", StringComparison.Ordinal)) break;
            }
            Assert.Equal(0, SendSignal(child.Id, 15));
            seen.AddRange((await child.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromMinutes(2))).Split('\n'));
            await child.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        }
        finally
        {
            if (!child.HasExited) child.Kill(entireProcessTree: true);
        }

        var err = await stderr;
        Assert.True(child.ExitCode == 143, $"expected the exit of SIGTERM, got {child.ExitCode}\n{string.Join('\n', seen)}\n{err}");
        var lastStep = seen.Where(l => l.StartsWith("step ", StringComparison.Ordinal)).Select(l => long.Parse(l.Split(' ')[1], CultureInfo.InvariantCulture)).Max();
        Assert.InRange(lastStep, 12, 999_999);
        // Every save it began ended committed, and the line names the newest.
        var latest = (lastStep / 5) * 5;
        Assert.Contains($"checkpoint {latest} committed", seen);
        Assert.Contains($"actorckpt: train interrupted after step {lastStep}: the saves in flight ended; the latest checkpoint is {latest}", err);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);

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

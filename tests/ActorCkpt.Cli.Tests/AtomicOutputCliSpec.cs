using System.Runtime.InteropServices;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using ActorCkpt.Cli;
using static ActorCkpt.Cli.Tests.ToolRun;

namespace ActorCkpt.Cli.Tests;

/// <summary>
/// A real <c>actorckpt export</c> (and <c>unshard</c>) child process killed with SIGKILL halfway
/// through replacing a previous output: the previous output stays whole, byte for byte, the killed
/// run leaves only a hidden folder without an index, and the next run succeeds and removes it. The
/// child is stopped after its first file by the fault-injection hook <see cref="OutputPause"/>, so
/// the kill lands mid-run without any sleep. And a destination that is not an output of this tool
/// is refused in one line, untouched.
/// </summary>
public class AtomicOutputCliSpec : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string Root => Path.Combine(_temp.Path, "ckpt");

    private string Out => Path.Combine(_temp.Path, "out");

    /// <summary>Every file under <paramref name="root"/> (relative path) with its bytes.</summary>
    private static SortedDictionary<string, string> Snapshot(string root) =>
        new(Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(root, f), f => Convert.ToHexString(File.ReadAllBytes(f))), StringComparer.Ordinal);

    /// <summary>What lies beside the checkpoint root: the output and any folder a run left.</summary>
    private string[] Beside() => Directory.EnumerateFileSystemEntries(_temp.Path).Select(Path.GetFileName).Where(n => n != "ckpt").Order(StringComparer.Ordinal).ToArray()!;

    private string[] Command(string command, long? step) => (command, step) switch
    {
        ("export", null) => new[] { "export", Root, "--out", Out, "--max-shard-size", "200KB" },
        ("export", _) => new[] { "export", Root, "--out", Out, "--max-shard-size", "500KB", "--step", step.ToString()! },
        (_, null) => new[] { "unshard", Root, "--out", Out, "--strategy", "chunks", "--chunk-size", "200KB" },
        _ => new[] { "unshard", Root, "--out", Out, "--strategy", "one-file-per-tensor", "--step", step.ToString()! },
    };

    [Theory]
    [InlineData("export")]
    [InlineData("unshard")]
    public async Task A_run_killed_mid_output_should_leave_the_previous_output_whole_and_the_next_run_should_replace_it(string command)
    {
        Assert.Equal(0, (await RunAsync("demo", "--dir", Root, "--size-mb", "1", "--tensors", "6", "--ranks", "2", "--steps", "2")).Exit);
        var first = await RunAsync(Command(command, step: 1));
        Assert.True(first.Exit == 0, first.Err);
        var before = Snapshot(Out);
        Assert.True(before.Count >= 4, string.Join(", ", before.Keys));

        // Step 2, laid out differently, paused after its first file and killed there.
        using var child = StartPausing(command);
        var stdout = child.StandardOutput.ReadToEndAsync();
        var seen = new StringBuilder();
        try
        {
            await UntilPausedAsync(child.StandardError, seen).WaitAsync(HangGuard);
            var partial = Assert.Single(Directory.GetDirectories(_temp.Path, $".out.actorckpt-partial-{child.Id}-*"));
            Assert.NotEmpty(Directory.GetFiles(partial, "*.safetensors", SearchOption.AllDirectories));
        }
        finally
        {
            child.Kill();
            await child.WaitForExitAsync().WaitAsync(HangGuard);
        }
        Assert.True(child.ExitCode == 137, $"expected death by SIGKILL, got exit {child.ExitCode}\n{await stdout}\n{seen}");

        // The previous output, whole; the killed run's folder hidden, without an index or a name like the output's.
        Assert.Equal(before, Snapshot(Out));
        var debris = Assert.Single(Beside(), n => n != "out");
        Assert.StartsWith($".out.actorckpt-partial-{child.Id}-", debris);
        Assert.False(File.Exists(Path.Combine(_temp.Path, debris, HuggingFaceExporter.IndexFile)));

        // The next run replaces the previous output wholly and removes the debris.
        var next = await RunAsync(Command(command, step: null).Append("--json").ToArray());
        Assert.True(next.Exit == 0, next.Err);
        Assert.Equal(new[] { "out" }, Beside());
        var files = JsonDocument.Parse(next.Out.TrimEnd().Split('\n')[^1]).RootElement.GetProperty("files").EnumerateArray().Select(f => f.GetString()!).ToList();
        if (command == "export") files.Add(HuggingFaceExporter.IndexFile);
        files.Add(OutputMarker.FileName);
        Assert.Equal(files.Order(StringComparer.Ordinal), Snapshot(Out).Keys);
        Assert.NotEqual(before.Keys, Snapshot(Out).Keys);
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);

    [Theory]
    [InlineData("export")]
    [InlineData("unshard")]
    public async Task A_run_interrupted_by_sigterm_mid_output_should_remove_its_unfinished_folder_and_leave_the_previous_output_whole(string command)
    {
        Assert.Equal(0, (await RunAsync("demo", "--dir", Root, "--size-mb", "1", "--tensors", "6", "--ranks", "2", "--steps", "2")).Exit);
        Assert.Equal(0, (await RunAsync(Command(command, step: 1))).Exit);
        var before = Snapshot(Out);

        using var child = StartPausing(command);
        var stdout = child.StandardOutput.ReadToEndAsync();
        var seen = new StringBuilder();
        try
        {
            await UntilPausedAsync(child.StandardError, seen).WaitAsync(HangGuard);
            Assert.Single(Directory.GetDirectories(_temp.Path, $".out.actorckpt-partial-{child.Id}-*"));
            // SIGTERM, handled as Ctrl-C's SIGINT is (which a child of a background job ignores, so not sent here).
            Assert.Equal(0, SendSignal(child.Id, 15));
            seen.Append(await child.StandardError.ReadToEndAsync().WaitAsync(HangGuard));
            await child.WaitForExitAsync().WaitAsync(HangGuard);
        }
        finally
        {
            if (!child.HasExited) child.Kill();
        }

        Assert.True(child.ExitCode == 143, $"expected the exit of SIGTERM, got {child.ExitCode}\n{await stdout}\n{seen}");
        Assert.Contains($"actorckpt: {command} interrupted: its unfinished output was removed, the destination is as it was", seen.ToString());
        Assert.Equal(before, Snapshot(Out));
        Assert.Equal(new[] { "out" }, Beside());
    }

    [Theory]
    [InlineData("export")]
    [InlineData("unshard")]
    public async Task A_folder_the_tool_did_not_write_should_be_refused_in_one_line_and_left_untouched(string command)
    {
        Assert.Equal(0, (await RunAsync("demo", "--dir", Root, "--size-mb", "1", "--tensors", "2", "--ranks", "1")).Exit);
        Directory.CreateDirectory(Out);
        File.WriteAllText(Path.Combine(Out, "notes.txt"), "the user's");

        var (exit, stdout, stderr) = await RunAsync(Command(command, step: null));

        Assert.Equal(1, exit);
        Assert.Equal($"actorckpt: --out '{Out}' is a folder that actorckpt did not write (it holds 'notes.txt' and no .actorckpt-output.json): refusing to replace it; choose a new or empty folder\n", stderr);
        Assert.Equal("", stdout);
        Assert.Equal(new[] { "notes.txt" }, Snapshot(Out).Keys);
        Assert.Equal("the user's", File.ReadAllText(Path.Combine(Out, "notes.txt")));
        Assert.Equal(new[] { "out" }, Beside());
    }

    [Theory]
    [InlineData("export")]
    [InlineData("unshard")]
    public async Task A_folder_in_a_step_directory_of_the_checkpoint_root_should_be_refused_in_one_line_and_nothing_written(string command)
    {
        Assert.Equal(0, (await RunAsync("demo", "--dir", Root, "--size-mb", "1", "--tensors", "2", "--ranks", "1")).Exit);
        // Named like a step the planner has not saved yet: gc would remove it, a save would take its place.
        var inside = Path.Combine(Root, CheckpointLayout.StepDirectory(99));
        var before = Directory.GetFileSystemEntries(Root).Order(StringComparer.Ordinal).ToArray();
        var args = Command(command, step: null);
        args[Array.IndexOf(args, Out)] = inside;

        var (exit, stdout, stderr) = await RunAsync(args);

        Assert.Equal(1, exit);
        Assert.Equal($"actorckpt: --out '{inside}' is in 'step-00000099' of the checkpoint root '{Root}', which its planner owns; {command} writes a folder of its own: choose one elsewhere\n", stderr);
        Assert.Equal("", stdout);
        Assert.Equal(before, Directory.GetFileSystemEntries(Root).Order(StringComparer.Ordinal).ToArray());

        // The same through a link to a committed step (before: written there, where gc and retention remove it with the step).
        var step = Path.Combine(Root, CheckpointLayout.StepDirectory(1));
        var link = Path.Combine(Path.GetDirectoryName(Root)!, "link-" + command);
        Directory.CreateSymbolicLink(link, step);
        var inStep = Directory.GetFileSystemEntries(step).Order(StringComparer.Ordinal).ToArray();
        args[Array.IndexOf(args, inside)] = Path.Combine(link, "sub");

        (exit, stdout, stderr) = await RunAsync(args);

        Assert.Equal((1, $"actorckpt: --out '{Path.Combine(link, "sub")}' is in 'step-00000001' of the checkpoint root '{Root}', which its planner owns; {command} writes a folder of its own: choose one elsewhere\n"),
            (exit, stderr));
        Assert.Equal(inStep, Directory.GetFileSystemEntries(step).Order(StringComparer.Ordinal).ToArray());
    }

    /// <summary>The tool as a child process running <paramref name="command"/> on the newest step, which pauses after its first file (<see cref="OutputPause"/>).</summary>
    private Process StartPausing(string command)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in Command(command, step: null).Prepend(typeof(ActorCkptCli).Assembly.Location)) psi.ArgumentList.Add(a);
        psi.Environment[OutputPause.Variable] = "1";
        return Process.Start(psi)!;
    }

    /// <summary>Reads <paramref name="stderr"/> until the child says it paused; fails if it ends first.</summary>
    private static async Task UntilPausedAsync(StreamReader stderr, StringBuilder seen)
    {
        while (await stderr.ReadLineAsync() is { } line)
        {
            seen.AppendLine(line);
            if (line.StartsWith("actorckpt: fault injection pauses the output after 1 files", StringComparison.Ordinal)) return;
        }
        Assert.Fail($"the child ended without pausing:\n{seen}");
    }
}

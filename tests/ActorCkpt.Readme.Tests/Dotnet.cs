using System.Diagnostics;
using System.Text;

namespace ActorCkpt.Readme.Tests;

/// <summary>Runs the <c>dotnet</c> command line and collects what it printed.</summary>
internal static class Dotnet
{
    /// <summary>The exit code and the interleaved stdout and stderr of a run.</summary>
    public sealed record Result(int ExitCode, string Output)
    {
        /// <summary>The last <paramref name="lines"/> lines of the output, for a failure message.</summary>
        public string Tail(int lines = 60) => string.Join('\n', Output.Split('\n').TakeLast(lines));
    }

    /// <summary>
    /// Runs <c>dotnet args</c> in <paramref name="workingDirectory"/>; killed (with its children) after
    /// <paramref name="limit"/>, a guard against a hang, not a measurement.
    /// </summary>
    public static Result Run(string workingDirectory, TimeSpan limit, params string[] args) => Run(workingDirectory, limit, args, "dotnet");

    /// <summary>Runs <paramref name="program"/> with <paramref name="args"/>, as <see cref="Run(string, TimeSpan, string[])"/>.</summary>
    public static Result Run(string workingDirectory, TimeSpan limit, IEnumerable<string> args, string program)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        // No build server or MSBuild node outlives the run.
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            lock (output) output.AppendLine($"(killed: still running after {limit})");
            return new Result(-1, output.ToString());
        }
        process.WaitForExit();
        lock (output) return new Result(process.ExitCode, output.ToString());
    }
}

using System.Globalization;

namespace ActorCkpt.Cli;

/// <summary>
/// A fault-injection hook for crash tests of <c>export</c> and <c>unshard</c>: with the environment
/// variable <see cref="Variable"/> set to N, the worker that wrote the N-th output file stops right
/// after it (files are written two at a time, so the other may still finish one; the output is half
/// written, in its hidden folder, with no index), says so in one line on stderr,
/// and waits for a line on stdin (or its end) before going on, so that a test can kill it there
/// without a timed sleep. Off when the variable is unset.
/// </summary>
internal static class OutputPause
{
    /// <summary>The environment variable: the number of files after which the command pauses.</summary>
    public const string Variable = "ACTORCKPT_FAULT_INJECTION_OUTPUT_PAUSE";

    /// <summary><paramref name="fileWritten"/>, followed by the pause when the variable asks for one.</summary>
    public static Action<string, int> After(Action<string, int> fileWritten)
    {
        var value = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrEmpty(value)) return fileWritten;
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var files) || files < 1)
            throw new ArgumentException($"{Variable} '{value}' is not a number of files (accepted: 1 or more)");
        var written = 0;
        return (file, tensors) =>
        {
            fileWritten(file, tensors);
            if (Interlocked.Increment(ref written) != files) return;
            Console.Error.WriteLine($"actorckpt: fault injection pauses the output after {files} files (pid {Environment.ProcessId}); waiting for a line on stdin");
            Console.Error.Flush();
            Console.In.ReadLine();
        };
    }
}

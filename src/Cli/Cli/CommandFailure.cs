using System.Reflection;

namespace ActorCkpt.Cli;

/// <summary>
/// How a command that fails ends: one line <c>actorckpt: message</c> and exit 1, whatever was
/// thrown; the stack trace only with <c>--verbose</c>. Usage errors found while parsing exit 2
/// before any command runs (see <see cref="UsageError"/>).
/// </summary>
internal static class CommandFailure
{
    /// <summary>The exit code of a failed operation.</summary>
    public const int Failed = 1;

    /// <summary>The exit code of a usage error (bad flag, value or command).</summary>
    public const int Usage = 2;

    /// <summary>Runs <paramref name="command"/>; an exception becomes one line on <paramref name="stderr"/> (and the trace when <paramref name="verbose"/>) and exit 1.</summary>
    public static int Guard(TextWriter stderr, bool verbose, Func<int> command)
    {
        try
        {
            return command();
        }
        catch (Exception) when (OutputFolder.Interrupted)
        {
            // An export or unshard interrupted: its handler said so in one line, and the signal ends the
            // process (130, 143). What failed after it is its consequence, not a second line and exit 1.
            Thread.Sleep(Timeout.Infinite);
            throw;
        }
        catch (Exception thrown)
        {
            var e = Innermost(thrown);
            stderr.WriteLine("actorckpt: " + Message(e));
            if (verbose) stderr.WriteLine(thrown.ToString());
            return Failed;
        }
    }

    /// <summary>
    /// The message of <paramref name="e"/> on one line: every line of it joined, never empty; what else
    /// would break or hide the line (a key's NUL or bidirectional override) escaped (<see cref="KeyText.LineSafe"/>).
    /// A configuration's problems, one a line, are joined with "; " so that each still reads as one.
    /// </summary>
    public static string Message(Exception e)
    {
        var separator = e is Akka.Configuration.ConfigurationException ? "; " : " ";
        var text = KeyText.LineSafe(string.Join(separator, (e.Message ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)));
        if (e is System.Runtime.InteropServices.ExternalException && LibTorchError(text) is { } native) return "libtorch: " + native;
        // A bare runtime failure says little by its message alone: its type names what went wrong.
        return e is ActorCkptException or IOException or UnauthorizedAccessException or ArgumentException or TimeoutException
                    or Akka.Configuration.ConfigurationException or System.Text.Json.JsonException
            ? text.Length == 0 ? e.GetType().Name : text
            : $"{e.GetType().Name}: {text}";
    }

    private const string RaisedFrom = "Exception raised from ";

    /// <summary>
    /// A libtorch error as TorchSharp passes it on: what failed, a hint for PyTorch's developers, then
    /// where it was raised and its C++ stack, dozens of frames in one message. The line keeps what
    /// failed and where; null when <paramref name="text"/> is not one.
    /// </summary>
    internal static string? LibTorchError(string text)
    {
        var raised = text.IndexOf(RaisedFrom, StringComparison.Ordinal);
        if (raised < 0) return null;
        var what = text[..raised];
        var hint = what.IndexOf("(Could this error message be improved?", StringComparison.Ordinal);
        if (hint >= 0) what = what[..hint] + (what.IndexOf(')', hint) is var end and >= 0 ? what[(end + 1)..] : "");
        var where = text[(raised + RaisedFrom.Length)..];
        if (where.IndexOf(" (most recent call first)", StringComparison.Ordinal) is var stack and >= 0) where = where[..stack];
        return $"{what.Trim()} (raised in {where.Trim()})";
    }

    /// <summary>The exception that says what failed: through the wrappers that tasks and reflection add.</summary>
    private static Exception Innermost(Exception e)
    {
        while (true)
        {
            switch (e)
            {
                case AggregateException { InnerExceptions.Count: 1 } a:
                    e = a.InnerExceptions[0];
                    continue;
                // Parallel writers failing alike (a full disk fails both): the first one says what failed.
                case AggregateException { InnerExceptions.Count: > 1 } many when many.InnerExceptions.All(x => x.GetType() == many.InnerExceptions[0].GetType()):
                    e = many.InnerExceptions[0];
                    continue;
                case TargetInvocationException { InnerException: { } inner }:
                    e = inner;
                    continue;
                default:
                    return e;
            }
        }
    }
}

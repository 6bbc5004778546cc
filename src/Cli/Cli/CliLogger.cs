using Akka.Actor;
using Akka.Dispatch;
using Akka.Event;

namespace ActorCkpt.Cli;

/// <summary>
/// Akka's log as the tool prints it: warnings and errors on stderr, one line each, an exception as
/// its type and message, its stack trace only with <c>--verbose</c>. Akka's own logger printed every
/// cause's stack trace on stdout, among the command's output (a full disk gave some fifty lines).
/// </summary>
internal sealed class CliLogger : ReceiveActor, IRequiresMessageQueue<ILoggerMessageQueueSemantics>
{
    /// <summary>Whether the stack traces are printed (the tool's <c>--verbose</c>).</summary>
    private const string VerboseKey = "actorckpt-tool.verbose";

    /// <summary>The HOCON that makes a command's actor system log through this logger.</summary>
    public static string Hocon(bool verbose) =>
        $"akka {{ loggers = [\"{typeof(CliLogger).FullName}, {typeof(CliLogger).Assembly.GetName().Name}\"], stdout-loglevel = {(verbose ? "WARNING" : "OFF")} }}\n" +
        $"{VerboseKey} = {(verbose ? "on" : "off")}\n";

    /// <summary>
    /// <paramref name="hocon"/> without this logger's lines, for node processes the tool starts: they
    /// log as every <c>actorckpt node</c> does, and the driver reads their stderr as their failure.
    /// </summary>
    public static string? Without(string? hocon) =>
        hocon?.Replace(Hocon(verbose: false), "", StringComparison.Ordinal).Replace(Hocon(verbose: true), "", StringComparison.Ordinal);

    public CliLogger()
    {
        var verbose = Context.System.Settings.Config.GetBoolean(VerboseKey, false);
        Receive<InitializeLogger>(_ => Sender.Tell(new LoggerInitialized()));
        Receive<LogEvent>(e => Console.Error.WriteLine(Line(e, verbose)));
    }

    /// <summary>One log event as the tool prints it.</summary>
    public static string Line(LogEvent e, bool verbose)
    {
        var level = e.LogLevel() switch { LogLevel.ErrorLevel => "ERROR", LogLevel.WarningLevel => "WARNING", LogLevel.InfoLevel => "INFO", _ => "DEBUG" };
        var line = $"[{level}] {e.LogSource}: {e.Message}";
        if (e.Cause is { } cause)
            line += verbose ? Environment.NewLine + cause : $" ({cause.GetType().Name}: {cause.Message})";
        return verbose ? line : line.ReplaceLineEndings(" ");
    }
}

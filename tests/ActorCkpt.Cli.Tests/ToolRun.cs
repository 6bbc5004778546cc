using ActorCkpt.Cli;

namespace ActorCkpt.Cli.Tests;

/// <summary>Runs the tool in this process with its output captured; a run that takes over <see cref="HangGuard"/> fails the test.</summary>
internal static class ToolRun
{
    /// <summary>
    /// The longest a command may take: every command must finish, a hang is a failure. Far above what
    /// any in-process command takes (a few seconds), so that two busy cores beside a CI run never trip it:
    /// it bounds a hang, it does not time the command.
    /// </summary>
    public static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(2);

    /// <summary>Runs <c>actorckpt <paramref name="args"/></c>; its exit code, stdout and stderr.</summary>
    public static Task<(int Exit, string Out, string Err)> RunAsync(params string[] args) => RunAsync(HangGuard, args);

    /// <summary>Runs <c>actorckpt <paramref name="args"/></c> that may take up to <paramref name="hangGuard"/> (a run that starts and kills node processes); its exit code, stdout and stderr.</summary>
    public static async Task<(int Exit, string Out, string Err)> RunAsync(TimeSpan hangGuard, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = await Task.Run(() => ActorCkptCli.Run(args, stdout, stderr)).WaitAsync(hangGuard);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    /// <summary><see cref="RunAsync"/>, waited for.</summary>
    public static (int Exit, string Out, string Err) Run(params string[] args) => RunAsync(args).GetAwaiter().GetResult();
}

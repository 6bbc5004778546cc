using System.Runtime.InteropServices;

namespace ActorCkpt.Cli;

/// <summary>
/// While an export or unshard runs: Ctrl-C (SIGINT) or SIGTERM ends the process as before, but
/// first removes its unfinished hidden output folder, as a failure does, and keeps an output from
/// beginning after it (<see cref="OutputFolder.AbandonAll"/>), and says in one line where the run was. Only a kill no process can catch (SIGKILL, power loss) leaves one behind,
/// for the next run into the same destination to remove.
/// </summary>
internal sealed class OutputInterrupts : IDisposable
{
    private readonly PosixSignalRegistration[] _registrations;

    private OutputInterrupts(string command) =>
        _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, _ => Abandon(command)), PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => Abandon(command))];

    /// <summary>Handles the two signals for <paramref name="command"/> until disposed.</summary>
    public static OutputInterrupts Register(string command) => new(command);

    private static readonly object Saying = new();
    private static bool s_said;

    // Each signal runs its handler, and the process ends when one returns: the line is said, once,
    // before any handler returns.
    private static void Abandon(string command)
    {
        lock (Saying)
        {
            var (abandoned, putInPlace) = OutputFolder.AbandonAll();
            if (s_said) return;
            s_said = true;
            Console.Error.WriteLine(abandoned > 0 ? $"actorckpt: {command} interrupted: its unfinished output was removed, the destination is as it was"
                : putInPlace > 0 ? $"actorckpt: {command} interrupted after its output was put in place whole"
                : $"actorckpt: {command} interrupted before it began its output: the destination is as it was");
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var registration in _registrations) registration.Dispose();
    }
}

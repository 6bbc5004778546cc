using System.Runtime.InteropServices;

namespace ActorCkpt.Cli;

/// <summary>
/// While an export or unshard runs: Ctrl-C (SIGINT) or SIGTERM ends the process as before, but
/// first removes its unfinished hidden output folder, as a failure does (<see cref="OutputFolder.AbandonAll"/>),
/// and says so in one line. Only a kill no process can catch (SIGKILL, power loss) leaves one behind,
/// for the next run into the same destination to remove.
/// </summary>
internal sealed class OutputInterrupts : IDisposable
{
    private readonly PosixSignalRegistration[] _registrations;

    private OutputInterrupts(string command) =>
        _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, _ => Abandon(command)), PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => Abandon(command))];

    /// <summary>Handles the two signals for <paramref name="command"/> until disposed.</summary>
    public static OutputInterrupts Register(string command) => new(command);

    private static void Abandon(string command)
    {
        if (OutputFolder.AbandonAll() > 0) Console.Error.WriteLine($"actorckpt: {command} interrupted: its unfinished output was removed, the destination is as it was");
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var registration in _registrations) registration.Dispose();
    }
}

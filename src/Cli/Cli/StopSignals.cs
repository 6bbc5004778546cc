using System.Runtime.InteropServices;

namespace ActorCkpt.Cli;

/// <summary>
/// Ctrl-C (SIGINT) or SIGTERM (a preemption) asks a long command to stop at its next safe point,
/// instead of ending the process: the command finishes what must not be cut (saves in flight, a load
/// into tensors it then frees), says where it stopped in one line, and exits as the signal would
/// have ended it (130, 143). A second signal ends the process at once, as if none were handled (a
/// second Ctrl-C when the first's stop takes too long).
/// </summary>
internal sealed class StopSignals : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly PosixSignalRegistration[] _registrations;
    private int _exit;

    /// <summary>Handles the two signals until disposed.</summary>
    public StopSignals() =>
        _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, c => Stop(c, 130)), PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => Stop(c, 143))];

    /// <summary>Cancelled once a signal came.</summary>
    public CancellationToken Token => _stop.Token;

    /// <summary>True once a signal came.</summary>
    public bool Stopped => _stop.IsCancellationRequested;

    /// <summary>The exit of the first signal that came (130, 143); 0 before any did.</summary>
    public int ExitCode => Volatile.Read(ref _exit);

    private void Stop(PosixSignalContext context, int exit)
    {
        if (Interlocked.CompareExchange(ref _exit, exit, 0) != 0) return;
        context.Cancel = true;
        _stop.Cancel();
    }

    /// <summary>Stops handling the signals. The token's source is left to the collector: a handler running on its own thread may still cancel it.</summary>
    public void Dispose()
    {
        foreach (var registration in _registrations) registration.Dispose();
    }
}

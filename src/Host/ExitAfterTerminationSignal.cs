using System.Runtime.InteropServices;
using Akka.Actor;

namespace ActorCkpt;

/// <summary>
/// Ends the process once a clustered checkpointer's actor system has terminated after a termination
/// signal (SIGTERM, SIGHUP). .NET 10 leaves those signals to the application. Akka handles them by
/// running the coordinated shutdown, so the node leaves the cluster, but in a cluster nothing ends the
/// process then: it stays up with a terminated checkpointer, a hang for systemd or Kubernetes. The
/// signal asked for the process's end, so after the leave it ends with 128 + the signal's number, as
/// the signal's default action would have. Only for a system a <see cref="Checkpointer"/> started,
/// with Akka's hook on: a host's own system (Akka.Hosting turns the hook off) is the host's to end.
/// </summary>
internal sealed class ExitAfterTerminationSignal : IDisposable
{
    private readonly PosixSignalRegistration[] _registrations;
    private int _signal;

    /// <summary>Watches for the signals; <paramref name="exit"/> (Environment.Exit in a process) is called with the exit code once <paramref name="system"/> terminated after one.</summary>
    internal ExitAfterTerminationSignal(ActorSystem system, Action<int> exit)
    {
        _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => Received(c.Signal)), PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => Received(c.Signal))];
        system.WhenTerminated.ContinueWith(_ =>
        {
            if (Volatile.Read(ref _signal) is var number and > 0) exit(128 + number);
        }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
    }

    /// <summary>Starts the watch for a system <paramref name="config"/> describes when it is clustered and Akka's hook runs its shutdown on the signal; else null.</summary>
    internal static ExitAfterTerminationSignal? For(ActorSystem system, Akka.Configuration.Config config) =>
        system.IsClustered() && config.GetBoolean("akka.coordinated-shutdown.run-by-clr-shutdown-hook", true) && !OperatingSystem.IsWindows()
            ? new ExitAfterTerminationSignal(system, Environment.Exit)
            : null;

    /// <summary>A termination signal arrived (the first one counts). Akka's own handler runs the shutdown; this one does not cancel anything.</summary>
    internal void Received(PosixSignal signal) =>
        Interlocked.CompareExchange(ref _signal, signal switch { PosixSignal.SIGHUP => 1, _ => 15 }, 0);

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var registration in _registrations) registration.Dispose();
    }
}

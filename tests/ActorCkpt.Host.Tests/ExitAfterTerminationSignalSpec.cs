using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.Configuration;

namespace ActorCkpt.Host.Tests;

/// <summary>
/// A clustered checkpointer of its own ends its process after a termination signal, once its node
/// has left: .NET 10 raises nothing on SIGTERM, and Akka's handler leaves the cluster but, in a
/// cluster, never ends the process (before: it idled for good). Here the exit is a recorded call;
/// by hand, a node process sent SIGTERM exited 143 within 3 s of it.
/// </summary>
public sealed class ExitAfterTerminationSignalSpec
{
    private static ActorSystem Clustered() => ActorSystem.Create("exit-spec", ConfigurationFactory.ParseString(
        "akka.actor.provider = cluster\nakka.remote.dot-netty.tcp { hostname = 127.0.0.1, port = 0 }\nakka.loglevel = WARNING\nakka.stdout-loglevel = WARNING"));

    [Theory]
    [InlineData(PosixSignal.SIGTERM, 143)]
    [InlineData(PosixSignal.SIGHUP, 129)]
    public async Task The_process_should_end_with_128_plus_the_signal_once_the_system_terminated_after_it(PosixSignal signal, int code)
    {
        var system = Clustered();
        var exited = new TaskCompletionSource<int>();
        using var watch = new ExitAfterTerminationSignal(system, c => exited.TrySetResult(c));

        watch.Received(signal);
        Assert.False(exited.Task.IsCompleted); // not before the node has left
        await CoordinatedShutdown.Get(system).Run(CoordinatedShutdown.ClrExitReason.Instance);

        Assert.Equal(code, await exited.Task.WaitAsync(TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task A_system_terminated_without_a_signal_should_leave_the_process_alone()
    {
        var system = Clustered();
        var exited = new TaskCompletionSource<int>();
        using var watch = new ExitAfterTerminationSignal(system, c => exited.TrySetResult(c));

        await system.Terminate();
        // The continuation that would call exit runs on termination: give it its turn, then look.
        await Task.Run(() => { });
        await system.WhenTerminated.ContinueWith(_ => { }, TaskScheduler.Default);

        Assert.False(exited.Task.IsCompleted);
    }

    [Fact]
    public async Task Only_a_clustered_system_whose_shutdown_runs_on_the_signal_should_be_watched()
    {
        var local = ActorSystem.Create("exit-spec-local", "akka.loglevel = WARNING");
        var clustered = Clustered();
        var hookOff = ConfigurationFactory.ParseString("akka.coordinated-shutdown.run-by-clr-shutdown-hook = off").WithFallback(clustered.Settings.Config);
        try
        {
            Assert.Null(ExitAfterTerminationSignal.For(local, local.Settings.Config));
            Assert.Null(ExitAfterTerminationSignal.For(clustered, hookOff));
            using var watched = ExitAfterTerminationSignal.For(clustered, clustered.Settings.Config);
            Assert.NotNull(watched);
        }
        finally
        {
            await Task.WhenAll(local.Terminate(), clustered.Terminate());
        }
    }
}

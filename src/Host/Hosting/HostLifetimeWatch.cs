using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace ActorCkpt.Hosting;

/// <summary>
/// What ActorCkpt learns of the host's lifetime, whatever order the services were added in:
/// <list type="bullet">
/// <item>its start as a whole: if ActorCkpt has not started by then (no <c>AddAkka</c> of the host
/// calls <c>WithActorCkpt</c>, or a later <c>AddAkka</c> took the place of the one that did), the
/// <see cref="ICheckpointer"/> calls fail at once, saying so, instead of waiting for ever;</item>
/// <item>its stop: when the host's own shutdown timeout (<see cref="HostOptions.ShutdownTimeout"/>)
/// is about to run out, or the token given to its stop is cancelled, ActorCkpt's wait for saves in
/// flight ends, never outlasting the host's.</item>
/// </list>
/// </summary>
internal sealed class HostLifetimeWatch(DeferredCheckpointer deferred, IHostApplicationLifetime lifetime, IOptions<HostOptions> host) : IHostedLifecycleService
{
    /// <summary>What the rest of the actor system's shutdown is left, of the host's timeout, once the wait for saves ends.</summary>
    public static readonly TimeSpan Margin = TimeSpan.FromSeconds(2);

    /// <summary>Why the calls fail.</summary>
    public const string NeverStarted =
        "ActorCkpt did not start with the host: no AddAkka of this host calls WithActorCkpt. A host with an AddAkka of its own adds " +
        ".WithActorCkpt(...) inside it; AddActorCkpt(...) followed by another AddAkka loses its ActorSystem to that one";

    private CancellationTokenRegistration _started;
    private Timer? _runsOut;

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Every hosted service has started by then, the host's ActorSystem and ActorCkpt's start in it included.
        _started = lifetime.ApplicationStarted.Register(() =>
        {
            if (!deferred.Ready.IsCompleted) deferred.SetFailed(new InvalidOperationException(NeverStarted));
        });
        return Task.CompletedTask;
    }

    /// <summary>
    /// The host begins to stop; <paramref name="cancellationToken"/> is the one its services' stops
    /// get: cancelled when the shutdown timeout has passed or when the token given to the host's
    /// stop is. Called for every lifecycle service before any service stops, so whatever order the
    /// services were added in, the wait for saves hears of it.
    /// </summary>
    public Task StoppingAsync(CancellationToken cancellationToken)
    {
        var timeout = host.Value.ShutdownTimeout;
        var said = $"its shutdown timeout (HostOptions.ShutdownTimeout: {timeout.TotalSeconds:0.###}s) ran out";
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            var left = timeout - Margin;
            _runsOut = new Timer(_ => deferred.SetStopsWaiting(said), null, left > TimeSpan.Zero ? left : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
        }
        // The timer goes off first unless the caller's token (a "stop now") was cancelled.
        cancellationToken.Register(() => deferred.SetStopsWaiting("the token given to its stop (IHost.StopAsync) was cancelled"));
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken)
    {
        _started.Dispose();
        // Not the timer: the host stops the services in turn, and ActorCkpt's may come after this one.
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

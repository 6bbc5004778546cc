using Microsoft.Extensions.Hosting;

namespace ActorCkpt.Hosting;

/// <summary>
/// Ends the wait of <see cref="ICheckpointer"/> calls when the host has started but ActorCkpt has
/// not (no <c>AddAkka</c> of the host calls <c>WithActorCkpt</c>, or a later <c>AddAkka</c> took
/// the place of the one that did): they fail at once, saying so, instead of waiting forever.
/// Watches the host's start as a whole, whatever order the services were added in.
/// </summary>
internal sealed class CheckpointerStartWatch(DeferredCheckpointer deferred, IHostApplicationLifetime lifetime) : IHostedService
{
    /// <summary>Why the calls fail.</summary>
    public const string NeverStarted =
        "ActorCkpt did not start with the host: no AddAkka of this host calls WithActorCkpt. A host with an AddAkka of its own adds " +
        ".WithActorCkpt(...) inside it; AddActorCkpt(...) followed by another AddAkka loses its ActorSystem to that one";

    private CancellationTokenRegistration _started;

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

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken)
    {
        _started.Dispose();
        return Task.CompletedTask;
    }
}

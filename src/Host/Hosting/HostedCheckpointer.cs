using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ActorCkpt.Hosting;

/// <summary>
/// The <see cref="ICheckpointer"/> of <see cref="ActorCkptServiceCollectionExtensions.AddActorCkpt"/>:
/// it starts a node of its own when the host starts, and when the host stops it waits for the saves
/// in flight to end (logging how each ended) before stopping the node, so a clean shutdown never
/// leaves a save half done. Calls made before the start wait for it.
/// </summary>
internal sealed class HostedCheckpointer(IOptions<ActorCkptHostOptions> options, ILogger<HostedCheckpointer> log) : DeferredCheckpointer, IHostedService
{
    private Checkpointer? _inner;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        try
        {
            _inner = Checkpointer.Start(o.Directory, o.ToHocon());
        }
        catch (Exception e)
        {
            SetFailed(e);
            throw;
        }
        SetReady(_inner);
        log.LogInformation("ActorCkpt node started over {Directory}", o.Directory);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_inner is null) return;
        foreach (var outcome in await _inner.FinalizeAsync(blocking: true, cancellationToken))
            if (outcome.Status != SaveStatus.Committed) log.LogWarning("ActorCkpt: the save of step {Step} on rank {Rank} {Status}: {Reason}", outcome.Step, outcome.Rank, outcome.Status, outcome.Reason);
        await _inner.DisposeAsync();
        _inner = null;
    }
}

using ActorCkpt.Actors;
using ActorCkpt.Host.Training;
using ActorCkpt.Planner;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ActorCkpt.Host.Hosting;

/// <summary>
/// The <see cref="ICheckpointer"/> a generic host hands out: it starts the node when the host
/// starts, and when the host stops it waits for the saves in flight to end (logging how each
/// ended) before stopping the node, so a clean shutdown never leaves a save half done.
/// </summary>
internal sealed class HostedCheckpointer(IOptions<ActorCkptHostOptions> options, ILogger<HostedCheckpointer> log) : ICheckpointer, IHostedService
{
    private Checkpointer? _inner;

    private Checkpointer Inner => _inner ?? throw new InvalidOperationException("the host has not started ActorCkpt yet (ICheckpointer is usable between the host's start and stop)");

    public long? LatestStep => Inner.LatestStep;

    /// <inheritdoc />
    public ActorCkptSettings Settings => Inner.Settings;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        _inner = Checkpointer.Start(o.Directory, o.ToHocon());
        log.LogInformation("ActorCkpt node started over {Directory}", o.Directory);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_inner is null) return;
        foreach (var outcome in await _inner.FinalizeAsync(blocking: true))
            if (outcome.Status != "committed") log.LogWarning("ActorCkpt: the save of step {Step} on rank {Rank} {Status}: {Reason}", outcome.Step, outcome.Rank, outcome.Status, outcome.Reason);
        await _inner.DisposeAsync();
        _inner = null;
    }

    public SaveHandle SaveAsync(long step, RankState state) => Inner.SaveAsync(step, state);

    public SaveHandle SaveInPlaceAsync(long step, RankState state) => Inner.SaveInPlaceAsync(step, state);

    public SaveHandle SaveAsync(long step, int rank, int worldSize, IEnumerable<IStateful> parts) => Inner.SaveAsync(step, rank, worldSize, parts);

    public Task<LoadResult> LoadAsync(RankState target, long? step = null, StrictHandling? strict = null, IProgress<long>? progress = null) =>
        Inner.LoadAsync(target, step, strict, progress);

    public Task<LoadResult> LoadAsync(int rank, int worldSize, IEnumerable<IStateful> parts, long? step = null, StrictHandling? strict = null, IProgress<long>? progress = null) =>
        Inner.LoadAsync(rank, worldSize, parts, step, strict, progress);

    public Task<IReadOnlyList<SaveOutcome>> FinalizeAsync(bool blocking) => Inner.FinalizeAsync(blocking);

    public Task<bool> IsQueueEmptyAsync(int rank, int worldSize, TimeSpan timeout) => Inner.IsQueueEmptyAsync(rank, worldSize, timeout);
}

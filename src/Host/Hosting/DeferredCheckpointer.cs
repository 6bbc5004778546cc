namespace ActorCkpt.Hosting;

/// <summary>
/// The <see cref="ICheckpointer"/> dependency injection hands out before the checkpointer behind it
/// exists: every call first waits for it to be ready (bounded by the call's CancellationToken), so a
/// <c>BackgroundService</c> may call it before the host's ActorSystem is up. Disposed (with the
/// host's services) before it was ready, it fails the calls still waiting.
/// </summary>
internal class DeferredCheckpointer : ICheckpointer, IDisposable
{
    private readonly TaskCompletionSource<Checkpointer> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once the checkpointer is ready.</summary>
    public Task<Checkpointer> Ready => _ready.Task;

    /// <summary>The checkpointer is ready: calls waiting go on.</summary>
    public void SetReady(Checkpointer checkpointer) => _ready.TrySetResult(checkpointer);

    private readonly TaskCompletionSource<string> _stopsWaiting = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Completes, saying why, when the host stops waiting for its services' stop
    /// (<see cref="HostLifetimeWatch"/>): its shutdown timeout is about to run out, or the token its
    /// stop was given was cancelled. The wait for saves in flight ends then.
    /// </summary>
    public Task<string> StopsWaiting => _stopsWaiting.Task;

    /// <summary>The host stops waiting: <paramref name="why"/> ends "the host shut down, and …" ("its shutdown timeout (…) ran out").</summary>
    public void SetStopsWaiting(string why) => _stopsWaiting.TrySetResult(why);

    /// <summary>It will never be ready (its start failed, or the host stopped first): calls waiting fail with <paramref name="cause"/>.</summary>
    public void SetFailed(Exception cause) => _ready.TrySetException(cause);

    /// <summary>The host's services are going away: calls still waiting fail (if the checkpointer never became ready).</summary>
    public void Dispose() =>
        // No object name: .NET would add it on a second line.
        SetFailed(new ObjectDisposedException(null, "the host stopped before ActorCkpt had started in its ActorSystem (see the host's start error)"));

    private Task<Checkpointer> InnerAsync(CancellationToken cancellationToken) =>
        _ready.Task.IsCompleted ? _ready.Task : _ready.Task.WaitAsync(cancellationToken);

    /// <inheritdoc />
    public async Task<long?> GetLatestStepAsync(CancellationToken cancellationToken = default) =>
        await (await InnerAsync(cancellationToken)).GetLatestStepAsync(cancellationToken);

    /// <inheritdoc />
    public async Task<SaveResult> SaveAsync(long step, RankState state, CancellationToken cancellationToken = default) =>
        await (await InnerAsync(cancellationToken)).SaveAsync(step, state, cancellationToken);

    /// <inheritdoc />
    public async Task<SaveHandle> StartSaveAsync(long step, RankState state, CancellationToken cancellationToken = default) =>
        await (await InnerAsync(cancellationToken)).StartSaveAsync(step, state, cancellationToken);

    /// <inheritdoc />
    public async Task<SaveResult> SaveAsync(long step, RankState state, SaveTier tier, CancellationToken cancellationToken = default) =>
        await (await InnerAsync(cancellationToken)).SaveAsync(step, state, tier, cancellationToken);

    /// <inheritdoc />
    public async Task<SaveHandle> StartSaveAsync(long step, RankState state, SaveTier tier, CancellationToken cancellationToken = default) =>
        await (await InnerAsync(cancellationToken)).StartSaveAsync(step, state, tier, cancellationToken);

    /// <inheritdoc />
    public async Task<SaveResult> SaveInPlaceAsync(long step, RankState state, CancellationToken cancellationToken = default) =>
        await (await InnerAsync(cancellationToken)).SaveInPlaceAsync(step, state, cancellationToken);

    /// <inheritdoc />
    public async Task<SaveResult> SaveAsync(long step, int rank, int worldSize, IEnumerable<IStateful> parts, CancellationToken cancellationToken = default) =>
        await (await InnerAsync(cancellationToken)).SaveAsync(step, rank, worldSize, parts, cancellationToken);

    /// <inheritdoc />
    public async Task<SaveHandle> StartSaveAsync(long step, int rank, int worldSize, IEnumerable<IStateful> parts, CancellationToken cancellationToken = default) =>
        await (await InnerAsync(cancellationToken)).StartSaveAsync(step, rank, worldSize, parts, cancellationToken);

    /// <inheritdoc />
    public async Task<LoadResult> LoadAsync(RankState target, long? step = null, StrictHandling? strict = null, IProgress<long>? progress = null,
        CancellationToken cancellationToken = default) =>
        await (await InnerAsync(cancellationToken)).LoadAsync(target, step, strict, progress, cancellationToken);

    /// <inheritdoc />
    public async Task<LoadResult> LoadAsync(int rank, int worldSize, IEnumerable<IStateful> parts, long? step = null, StrictHandling? strict = null,
        IProgress<long>? progress = null, CancellationToken cancellationToken = default) =>
        await (await InnerAsync(cancellationToken)).LoadAsync(rank, worldSize, parts, step, strict, progress, cancellationToken);

    /// <inheritdoc />
    public async Task<IReadOnlyList<SaveOutcome>> FinalizeAsync(bool blocking, CancellationToken cancellationToken = default) =>
        await (await InnerAsync(cancellationToken)).FinalizeAsync(blocking, cancellationToken);

    /// <inheritdoc />
    public async Task WaitForUploadsAsync(CancellationToken cancellationToken = default) =>
        await (await InnerAsync(cancellationToken)).WaitForUploadsAsync(cancellationToken);

    /// <inheritdoc />
    public async Task<bool> IsQueueEmptyAsync(int rank, int worldSize, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        await (await InnerAsync(cancellationToken)).IsQueueEmptyAsync(rank, worldSize, timeout, cancellationToken);

    /// <inheritdoc />
    public async Task<IReadOnlyList<CatalogEntry>> ReadCatalogAsync(CancellationToken cancellationToken = default) =>
        await (await InnerAsync(cancellationToken)).ReadCatalogAsync(cancellationToken);
}

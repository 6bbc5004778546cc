namespace ActorCkpt;

/// <summary>
/// What training code needs of ActorCkpt: save and load a rank's state, wait for saves, ask
/// whether any rank still has one in flight. <see cref="Checkpointer"/> implements it for scripts
/// and one-process use; inside a host's own ActorSystem, <c>WithActorCkpt</c> (namespace
/// <c>ActorCkpt.Hosting</c>) registers one in dependency injection, whose calls made before the
/// ActorSystem is up wait for it (bounded by their CancellationToken).
/// </summary>
/// <remarks>
/// Every rank of a save calls <c>SaveAsync</c> with the same step; the planner commits the step
/// once every rank's part is written. A cancelled save aborts on every rank, leaving no metadata:
/// the next save works as if it had never begun. Cancellation has no effect once the commit has
/// begun: the save then completes committed.
/// </remarks>
public interface ICheckpointer
{
    /// <summary>
    /// The newest committed step, or null when there is none: the step a load of the newest would read
    /// now, as the planner's catalog decides it. A step whose files were lost still counts (its load
    /// fails naming why, rather than an older step passing for the newest); a step of the memory or
    /// object tier counts where that tier runs, and a memory-only step with a file no live node holds
    /// gives way to the older step a load would read.
    /// Asks the planner, so it waits for one to answer (up to <c>actorckpt.planner.plan-timeout</c>
    /// while a cluster's planner moves, then throws <see cref="TimeoutException"/> naming the setting); a stopped node, or one whose planner gave up, answers from the
    /// root's directories.
    /// </summary>
    Task<long?> GetLatestStepAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Saves <paramref name="state"/> as <paramref name="step"/> and completes once the step is
    /// committed (durable, and what loads see), with what was written and how long it took.
    /// Faults with <see cref="CheckpointFailedException"/> when the save was aborted, with
    /// <see cref="SaveSkippedException"/> when it was skipped (<c>actorckpt.async.when-busy = skip</c>).
    /// A state this rank cannot stage (a tensor disposed before the save was called, more than the whole staging
    /// budget, an invalid argument) faults its save with that error, an <see cref="ActorCkptException"/>
    /// or <see cref="ArgumentException"/> naming what is wrong; the other ranks' saves of the step then
    /// abort at once, their <see cref="CheckpointFailedException"/> naming this rank and the error.
    /// </summary>
    Task<SaveResult> SaveAsync(long step, RankState state, CancellationToken cancellationToken = default);

    /// <summary>
    /// Starts saving <paramref name="state"/> as <paramref name="step"/> and completes as soon as
    /// the state is copied to host memory: the training loop may change its tensors from then on
    /// (the <see cref="RankState"/>'s entries are taken when this is called: entries added later are not saved;
    /// a tensor disposed meanwhile is still read, as its memory is held until the save no longer reads it),
    /// while the returned handle's <see cref="SaveHandle.Committed"/> (or the handle itself,
    /// awaited) says when the write is committed. PyTorch DCP's <c>async_save</c>.
    /// <paramref name="cancellationToken"/> cancels the whole save, not only the wait for staging. A save
    /// skipped because the rank is busy (<c>actorckpt.async.when-busy = skip</c>) completes at once, copying
    /// nothing; its handle's <see cref="SaveHandle.Committed"/> faults with <see cref="SaveSkippedException"/>.
    /// </summary>
    Task<SaveHandle> StartSaveAsync(long step, RankState state, CancellationToken cancellationToken = default);

    /// <summary>
    /// As <see cref="SaveAsync(long, RankState, CancellationToken)"/>, to <paramref name="tier"/>: the memory
    /// tier (replicated host memory, see docs/memory-tier.md), the disk, memory then disk in the background,
    /// or as the tier policy says. A tier the configuration does not allow fails the save naming the setting.
    /// </summary>
    Task<SaveResult> SaveAsync(long step, RankState state, SaveTier tier, CancellationToken cancellationToken = default);

    /// <summary>As <see cref="StartSaveAsync(long, RankState, CancellationToken)"/>, to <paramref name="tier"/>.</summary>
    Task<SaveHandle> StartSaveAsync(long step, RankState state, SaveTier tier, CancellationToken cancellationToken = default);

    /// <summary>
    /// Saves <paramref name="state"/> as <paramref name="step"/> without a staged copy: writers read
    /// contiguous CPU tensors where they are, so the save needs no host memory beyond the state's
    /// own. The tensors must stay unchanged until the returned task completes, which it does, whether
    /// committed, failed or cancelled, only once no writer reads them any more (a tensor disposed before
    /// then is still read: its memory is held until that moment).
    /// </summary>
    Task<SaveResult> SaveInPlaceAsync(long step, RankState state, CancellationToken cancellationToken = default);

    /// <summary>Saves the <paramref name="parts"/> of rank <paramref name="rank"/> (of <paramref name="worldSize"/>) as <paramref name="step"/>; as <see cref="SaveAsync(long, RankState, CancellationToken)"/>.</summary>
    Task<SaveResult> SaveAsync(long step, int rank, int worldSize, IEnumerable<IStateful> parts, CancellationToken cancellationToken = default);

    /// <summary>Starts saving the <paramref name="parts"/> of rank <paramref name="rank"/> (of <paramref name="worldSize"/>) as <paramref name="step"/>; as <see cref="StartSaveAsync(long, RankState, CancellationToken)"/>.</summary>
    Task<SaveHandle> StartSaveAsync(long step, int rank, int worldSize, IEnumerable<IStateful> parts, CancellationToken cancellationToken = default);

    /// <summary>
    /// Loads step <paramref name="step"/> (the newest committed when null) into
    /// <paramref name="target"/>, resharding as needed; mismatched keys are handled as
    /// <paramref name="strict"/> says (default: <c>actorckpt.load.strict</c>).
    /// <paramref name="progress"/> hears the destination bytes each read filled. Cancelled, it stops
    /// between reads and throws once no read is under way (the target is then partly filled).
    /// Throws <see cref="CheckpointNotFoundException"/> when there is no such step, and
    /// <see cref="CheckpointFormatException"/> when its files are damaged or gone (a step the catalog
    /// records committed whose metadata is missing among them, a data file missing or cut short), and
    /// <see cref="ChecksumMismatchException"/> when bytes read from disk do not match their checksum (from
    /// memory, a bad copy is refused and another holder read; with none left, the load fails naming each). Bytes go into the
    /// target's tensors as they are read and verified, as DCP's loads do: a load that fails (a
    /// checksum mismatch, a file gone, a cancel) leaves them partly loaded, so a training loop
    /// whose resume fails loads again (another step) or rebuilds its state before it trains.
    /// The load holds the target's memory from the call until it ends, as a save holds its state.
    /// </summary>
    Task<LoadResult> LoadAsync(RankState target, long? step = null, StrictHandling? strict = null, IProgress<long>? progress = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Loads step <paramref name="step"/> (the newest committed when null) into the
    /// <paramref name="parts"/> of rank <paramref name="rank"/> (of <paramref name="worldSize"/>): tensors
    /// in place, resharded to this rank's slices, then each part's other entries. The step's
    /// metadata is read under the load's lease, so retention cannot remove the step meanwhile.
    /// A load that fails leaves the parts' tensors partly loaded, as the other overload says.
    /// </summary>
    Task<LoadResult> LoadAsync(int rank, int worldSize, IEnumerable<IStateful> parts, long? step = null, StrictHandling? strict = null,
        IProgress<long>? progress = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// How the saves started here that ended since the last call ended (at most the newest 4,096 of them); with
    /// <paramref name="blocking"/>, after every save in flight has ended. A call whose
    /// <paramref name="cancellationToken"/> ends its wait takes nothing: the next call returns those outcomes.
    /// </summary>
    Task<IReadOnlyList<SaveOutcome>> FinalizeAsync(bool blocking, CancellationToken cancellationToken = default);

    /// <summary>
    /// Completes once the object tier (<see cref="ObjectTierOptions"/>) has no upload under way or waiting, nor a memory step
    /// due for it still being written to disk first; at once without the tier. A job calls it before it exits, so that its last steps are in object storage. An upload that failed has
    /// ended too (it is logged, and its step stays local); <see cref="ReadCatalogAsync"/> says which steps are there.
    /// </summary>
    Task WaitForUploadsAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// True when no rank has a save in flight: the same answer on all <paramref name="worldSize"/> ranks, each of which must ask.
    /// Past <paramref name="timeout"/> it throws <see cref="TimeoutException"/> naming the ranks that did not ask, and cancelled
    /// <see cref="OperationCanceledException"/>; the rank's next question is then the same one again.
    /// </summary>
    Task<bool> IsQueueEmptyAsync(int rank, int worldSize, TimeSpan timeout, CancellationToken cancellationToken = default);

    /// <summary>
    /// The catalog: every step a save began, and where it stands. Asks the planner: past
    /// <c>actorckpt.planner.plan-timeout</c> without an answer it throws <see cref="TimeoutException"/> naming the setting.
    /// </summary>
    Task<IReadOnlyList<CatalogEntry>> ReadCatalogAsync(CancellationToken cancellationToken = default);
}

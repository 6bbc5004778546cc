using Akka.Actor;
using Akka.Event;

namespace ActorCkpt;

/// <summary>
/// Parent and supervisor of a node's writers: starts <see cref="ActorCkptSettings.WriterPoolSize"/>
/// of them over <paramref name="store"/>, registers each with <paramref name="planner"/> (a planner
/// that starts later asks with <see cref="ListWriters"/>), and restarts any writer that crashes (a
/// writer holds no state worth keeping: the retry of the write that failed, and those waiting out
/// their backoff, go to the restarted writer as messages to itself). Use <see cref="Props"/>.
/// The writers register with the id of the root they write to (<see cref="CheckpointStore.RootId"/>),
/// for a planner to refuse writers of another root: their files would land outside the planner's
/// root. Until the root has an id (the planner's node writes it at its start) the pool waits,
/// looking again every <see cref="RootIdRetry"/>.
/// </summary>
/// <param name="store">Where the writers write.</param>
/// <param name="settings">The writers' settings.</param>
/// <param name="planner">The planner the writers register with.</param>
/// <param name="replicas">Where the writers put memory-tier files; null on a node that holds no memory replicas.</param>
internal sealed class WriterPoolActor(IBlobStore store, ActorCkptSettings settings, IActorRef planner, ReplicaStore? replicas = null) : UntypedActor, IWithTimers
{
    /// <summary>How often a pool whose root has no id yet looks again.</summary>
    internal static readonly TimeSpan RootIdRetry = TimeSpan.FromSeconds(1);

    /// <summary>How often a pool the planner refused looks at its root's id again.</summary>
    internal static readonly TimeSpan RefusedRetry = TimeSpan.FromSeconds(10);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private string? _rootId;
    private bool _waitingLogged;
    private bool _refusedLogged;
    private bool _reading;

    /// <summary>Props of a writer pool registering its writers with <paramref name="planner"/>, writing memory-tier files into <paramref name="replicas"/>.</summary>
    public static Props Props(IBlobStore store, ActorCkptSettings settings, IActorRef planner, ReplicaStore? replicas = null) =>
        Akka.Actor.Props.Create(() => new WriterPoolActor(store, settings, planner, replicas));

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <inheritdoc />
    protected override void PreStart()
    {
        for (var i = 0; i < settings.WriterPoolSize; i++) Context.ActorOf(WriterActor.Props(store, settings, replicas), $"writer-{i}");
        // A local file is read at once, so that the writers are registered before a save can reach the
        // planner (a round planned as the first of them registers would have one writer); an object
        // store is asked off the actor's thread.
        if (store is ObjectBlobStore) ReadRootId();
        else OnRootIdRead(RootIdOf(store));
    }

    /// <summary>Answers <see cref="ListWriters"/> (no writers while the root's id is unknown); ignores anything else.</summary>
    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case ListWriters:
                Sender.Tell(_rootId is null ? new WritersListed([]) : new WritersListed(Context.GetChildren().ToArray(), _rootId));
                break;
            case LookForRootId:
                ReadRootId();
                break;
            case RootIdRead read:
                OnRootIdRead(read);
                break;
            case WritersRefused refused:
                if (!_refusedLogged) _log.Error("This node's writers are not used: {0}", refused.Reason);
                _refusedLogged = true;
                // The root's id may change under the pool (a catalog rebuild on a server gives the root a new one): looked at again.
                Timers.StartSingleTimer(nameof(LookForRootId), LookForRootId.Instance, RefusedRetry);
                break;
        }
    }

    /// <summary>Reads the root's id again off the actor's thread (on an object store it is a request, with retries).</summary>
    private void ReadRootId()
    {
        if (_reading) return;
        _reading = true;
        var blobs = store;
        Task.Run(() => RootIdOf(blobs)).PipeTo(Self);
    }

    private static RootIdRead RootIdOf(IBlobStore blobs)
    {
        try
        {
            var ids = new CheckpointStore(blobs);
            return ids.HasRootId() ? new RootIdRead(ids.RootId(), null) : new RootIdRead(null, $"it has no {CheckpointLayout.RootIdFile} yet");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CheckpointFormatException or ObjectStoreException)
        {
            return new RootIdRead(null, $"its {CheckpointLayout.RootIdFile} cannot be read: {e.Message}");
        }
    }

    private void OnRootIdRead(RootIdRead read)
    {
        _reading = false;
        var before = _rootId;
        _rootId = read.Id;
        // Refused with this id already: registering again would only be refused again.
        if (_refusedLogged && _rootId == before)
        {
            Timers.StartSingleTimer(nameof(LookForRootId), LookForRootId.Instance, RefusedRetry);
            return;
        }
        _refusedLogged = false;
        if (_rootId is null)
        {
            if (!_waitingLogged)
                _log.Warning("Writer pool: the checkpoint root '{0}' is not ready: {1}. The writers register once it has the id the planner's node writes at its start; " +
                             "if this lasts, this node's root is not the planner's (give every node the same root)", store.Root, read.Why);
            _waitingLogged = true;
            Timers.StartSingleTimer(nameof(LookForRootId), LookForRootId.Instance, RootIdRetry);
            return;
        }
        if (_waitingLogged) _log.Info("Writer pool: the checkpoint root '{0}' has its id now; the writers register", store.Root);
        _waitingLogged = false;
        planner.Tell(new RegisterWriters(Context.GetChildren().ToArray(), _rootId));
    }

    private sealed class LookForRootId
    {
        public static readonly LookForRootId Instance = new();
    }

    /// <summary>The root's id, or null and why not.</summary>
    private sealed record RootIdRead(string? Id, string? Why);

    /// <inheritdoc />
    protected override SupervisorStrategy SupervisorStrategy() => new RestartWriters();

    /// <summary>
    /// Restarts every writer that fails, without limit. A write that fails with retries left is
    /// thrown on purpose (<see cref="WriteFileException"/>) and the writer has logged it as a warning
    /// already: Akka's error line and stack trace for it would make a retry that succeeds look like a
    /// failure. Any other crash is logged as Akka logs it.
    /// </summary>
    private sealed class RestartWriters() : OneForOneStrategy(-1, Timeout.InfiniteTimeSpan, _ => Directive.Restart)
    {
        protected override void LogFailure(IActorContext context, IActorRef child, Exception cause, Directive directive)
        {
            if (cause is not WriteFileException) base.LogFailure(context, child, cause, directive);
        }
    }
}

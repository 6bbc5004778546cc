using Akka.Actor;
using Akka.Dispatch;
using Akka.Event;
using Akka.Streams;

namespace ActorCkpt;

/// <summary>
/// The memory tier's holder on a node: the background side of the host's tmpfs
/// <see cref="ReplicaStore"/> (its writers write replicas and its reader serves them). At start it
/// removes the temporary files of dead writers, lists the replicas (with
/// <see cref="MemoryTierSettings.VerifyFull"/> re-hashing each and dropping those that fail), and
/// announces them to the planner with the host's budget (<see cref="RegisterHolder"/>); it answers
/// <see cref="ListHeldReplicas"/> with a fresh announcement, deletes replicas on
/// <see cref="DropReplicas"/> (an eviction's it keeps as spares for <c>recycle-for</c>, releasing
/// those left unclaimed on a timer), writes copies to disk on <see cref="PersistReplica"/>, makes a
/// copy of another host's replica on <see cref="CopyReplica"/> and serves its own replicas' headers
/// for that (<see cref="ReadReplicaHeader"/>), and measures the store on <see cref="ReportReplicaUsage"/>. File work
/// runs on the blocking-I/O dispatcher, never on the actor's thread; requests that come before the
/// start-up scan is done wait for it, but a <see cref="ListHeldReplicas"/> is answered at once with
/// <see cref="HolderScanning"/> (as the planner is told at start), so that a long scan is not taken for a lost host.
/// </summary>
internal sealed class ReplicaHolderActor : ReceiveActor, IWithUnboundedStash, IWithTimers
{
    private const string IoDispatcher = "akka.actor.default-blocking-io-dispatcher";

    private readonly ReplicaStore _store;
    private readonly MemoryTierSettings _tier;
    private readonly IActorRef _planner;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly MessageDispatcher _io = Context.System.Dispatchers.Lookup(IoDispatcher);
    // Self, for work off the actor's thread, where the actor's context is not there to ask.
    private readonly IActorRef _self;
    // The checkpoint root, where persists write (null: this holder persists nothing).
    private readonly IBlobStore? _root;
    // Fetches a payload range of another host's copy through its node's reader (null: this holder makes no copies).
    private readonly RangeFetcher? _fetch;
    private readonly int _frameSize;
    // Planners that asked for the inventory while the start-up scan ran.
    private readonly HashSet<IActorRef> _askedDuringScan = new();

    /// <summary>Most bytes of a copy fetched at once (one reader request and token each).</summary>
    internal const int CopyPieceBytes = 16 << 20;

    /// <summary>Creates the holder; use <see cref="Props"/>.</summary>
    public ReplicaHolderActor(ReplicaStore store, MemoryTierSettings tier, IActorRef planner, IBlobStore? root = null, string? readerName = null, ActorCkptSettings? settings = null)
    {
        (_store, _tier, _planner, _self, _root) = (store, tier, planner, Self, root);
        if (readerName is not null && settings is not null)
        {
            _fetch = ReaderRangeFetch.Through(Context.System, Context.Materializer(), readerName, tier.AckTimeout, settings, StorageTier.Memory);
            _frameSize = settings.ChecksumBlockSize;
        }
        Receive<HolderScanned>(Started);
        // The inventory waits for the scan; that the host is there does not. Who asked (a planner that took
        // over) hears the inventory too: this holder's proxy may still point at the planner before it.
        Receive<ListHeldReplicas>(_ =>
        {
            Sender.Tell(new HolderScanning(_store.Host, Self));
            _askedDuringScan.Add(Sender);
        });
        Receive<Status.Failure>(f =>
        {
            // Not announced: the planner's next ListHeldReplicas scans again.
            _log.Error(f.Cause, "Replica holder of host '{0}': the store at '{1}' could not be scanned at start; not announced", _store.Host, _store.Root);
            var failed = new HolderScanFailed(_store.Host, Self, ErrorText.Of(f.Cause));
            _planner.Tell(failed);
            foreach (var asked in _askedDuringScan) asked.Tell(failed);
            _askedDuringScan.Clear();
            BecomeReady();
        });
        ReceiveAny(_ => Stash.Stash());
    }

    /// <inheritdoc />
    public IStash Stash { get; set; } = null!;

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>
    /// Props of the holder of <paramref name="store"/>, announcing itself to <paramref name="planner"/> (in a
    /// cluster, the planner's proxy), writing persists under <paramref name="root"/>, and making copies
    /// (<see cref="CopyReplica"/>) through the readers named <paramref name="readerName"/> on other nodes.
    /// </summary>
    public static Props Props(ReplicaStore store, MemoryTierSettings tier, IActorRef planner, IBlobStore? root = null, string? readerName = null, ActorCkptSettings? settings = null) =>
        Akka.Actor.Props.Create(() => new ReplicaHolderActor(store, tier, planner, root, readerName, settings));

    /// <inheritdoc />
    protected override void PreStart()
    {
        // Told first, so that a long scan does not pass for a lost host (lost-after counts from the planner's start, once it has recovered its catalog).
        _planner.Tell(new HolderScanning(_store.Host, Self));
        Run(Scan).PipeTo(Self);
    }

    private void Started(HolderScanned scanned)
    {
        if (scanned.Debris > 0)
            _log.Info("Replica holder of host '{0}': removed {1} temporary file(s) of writers that are gone", _store.Host, scanned.Debris);
        foreach (var line in scanned.Unreadable) _log.Warning("Replica holder of host '{0}': not a readable replica, left in place: {1}", _store.Host, line);
        foreach (var line in scanned.Corrupt) _log.Warning("Replica holder of host '{0}': dropped a replica that failed verification: {1}", _store.Host, line);
        var register = scanned.Register;
        _log.Info("Replica holder of host '{0}' at '{1}': {2} replica(s) held, budget {3} bytes", _store.Host, _store.Root, register.Held.Length, register.BudgetBytes);
        foreach (var problem in ReplicaDirectoryCheck.Problems(_store.Root, MountedFileSystem.Of(_store.Root), register.BudgetBytes))
            _log.Warning("Replica holder of host '{0}': {1}", _store.Host, problem);
        _planner.Tell(register);
        foreach (var asked in _askedDuringScan) asked.Tell(register);
        _askedDuringScan.Clear();
        // Unclaimed spares go between recycle-for and half as long again after they were made.
        if (_tier.RecycleFor > TimeSpan.Zero) Timers.StartPeriodicTimer(nameof(ReleaseSpares), ReleaseSpares.Instance, _tier.RecycleFor / 2);
        BecomeReady();
    }

    private void BecomeReady()
    {
        Become(() =>
        {
            Receive<ListHeldReplicas>(_ => Answer(() => Inventory(_store.List().Held), e => (null, $"listing the replicas for the planner failed: {e.Message}")));
            Receive<DropReplicas>(Drop);
            Receive<ReleaseSpares>(_ => Release());
            Receive<PersistReplica>(Persist);
            Receive<CopyReplica>(Copy);
            Receive<ReadReplicaHeader>(m => Answer(() =>
            {
                using var payload = _store.OpenRead(m.Step, m.File, out var header);
                return new ReplicaHeaderRead(header);
            }, e => (new ReadReplicaHeaderFailure($"host '{_store.Host}': '{m.File}' of step {m.Step}: {ErrorText.Of(e)}"), $"reading the header of '{m.File}' of step {m.Step} failed: {e.Message}")));
            Receive<ReportReplicaUsage>(_ => Answer(() =>
            {
                var usage = _store.Usage();
                return new ReplicaUsageReported(_store.Host, usage.FileBytes, usage.TmpfsUsed, usage.TmpfsSize, usage.SpareBytes);
            }, e => (new ReportReplicaUsageFailure(_store.Host, e.Message), $"measuring the store failed: {e.Message}")));
            Receive<HolderAnswer>(a =>
            {
                if (a.Problem is { } problem) _log.Warning("Replica holder of host '{0}': {1}", _store.Host, problem);
                if (a.Message is { } message) a.To.Tell(message);
            });
        });
        Stash.UnstashAll();
    }

    private void Drop(DropReplicas request)
    {
        var what = request.Files is null ? "every replica" : $"{request.Files.Length} replica(s)";
        var recycle = request.Recycle && _tier.RecycleFor > TimeSpan.Zero;
        Answer(() =>
        {
            if (recycle)
            {
                var kept = _store.Recycle(request.Step, request.Files);
                _log.Info("Replica holder of host '{0}': dropped {1} of step {2} ({3}), {4} bytes kept as spares for at most {5}",
                    _store.Host, what, request.Step, request.Reason, kept, _tier.RecycleFor);
                return new ReplicasDropped(_store.Host, request.Step, 0);
            }
            var freed = _store.Drop(request.Step, request.Files);
            _log.Info("Replica holder of host '{0}': dropped {1} of step {2} ({3}), {4} bytes freed", _store.Host, what, request.Step, request.Reason, freed);
            return new ReplicasDropped(_store.Host, request.Step, freed);
        }, e => (new DropReplicasFailure(_store.Host, request.Step, $"host '{_store.Host}': {e.Message}"),
            $"dropping {what} of step {request.Step} ({request.Reason}) failed: {e.Message}"));
    }

    /// <summary>
    /// Spares are warm pages kept for this host's next copies: with the holder gone none comes, and
    /// in tmpfs they would hold the host's memory until a holder started there again.
    /// </summary>
    protected override void PostStop()
    {
        try
        {
            var (files, bytes) = _store.ReleaseSpares(TimeSpan.Zero);
            if (files > 0) _log.Info("Replica holder of host '{0}': stopping; released {1} spare file(s), {2} bytes freed", _store.Host, files, bytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.Warning("Replica holder of host '{0}': stopping; its spare files could not be released: {1}", _store.Host, e.Message);
        }
        base.PostStop();
    }

    /// <summary>Deletes the spare files that have waited <see cref="MemoryTierSettings.RecycleFor"/> unclaimed, off the actor's thread.</summary>
    private void Release() => Answer(() =>
    {
        var (files, bytes) = _store.ReleaseSpares(_tier.RecycleFor);
        if (files > 0) _log.Info("Replica holder of host '{0}': released {1} spare file(s) unclaimed for {2}, {3} bytes freed", _store.Host, files, _tier.RecycleFor, bytes);
        return null!;
    }, e => (null, $"releasing spare files failed: {e.Message}"));

    /// <summary>Writes a copy to the step directory on disk, off the actor's thread; a copy that does not give what it recorded is reported corrupt.</summary>
    private void Persist(PersistReplica request)
    {
        var file = request.Plan.FileName;
        if (_root is null)
        {
            Sender.Tell(new PersistReplicaFailure(request.Step, file, _store.Host, $"host '{_store.Host}' has no checkpoint root to persist to", Corrupt: false));
            return;
        }
        Answer(() =>
        {
            ReplicaPersist.Write(_store, request.Step, file, request.Plan, request.Expected, _root, DataFileTags.Of(request.Step, request.Plan));
            _log.Info("Replica holder of host '{0}': wrote '{1}' of step {2} to disk", _store.Host, file, request.Step);
            return new PersistReplicaSuccess(request.Step, file, _store.Host);
        }, e => (new PersistReplicaFailure(request.Step, file, _store.Host, $"host '{_store.Host}': {ErrorText.Of(e)}", e is ReplicaMismatchException or ChecksumMismatchException or CheckpointFormatException),
            $"persisting '{file}' of step {request.Step} failed: {e.Message}"));
    }

    /// <summary>
    /// Makes a copy of another host's replica, off the actor's thread: its header from the source holder,
    /// its payload from the source node's reader over the bulk channel, checked whole before it is
    /// published (<see cref="ReplicaStore.CopyAsync"/>).
    /// </summary>
    private void Copy(CopyReplica request)
    {
        var (step, file, source) = (request.Step, request.File, request.Source);
        if (_fetch is not { } fetch)
        {
            Sender.Tell(new ReplicaCopyFailure(step, file, _store.Host, $"host '{_store.Host}': this holder makes no copies (it has no reader to fetch through)"));
            return;
        }
        var node = source.Path.Address.ToString();
        Answer(() =>
        {
            var header = source.Ask<IActorCkptMessage>(new ReadReplicaHeader(step, file), _tier.AckTimeout).GetAwaiter().GetResult() switch
            {
                ReplicaHeaderRead read when read.Header.Step == step && read.Header.FileName == file => read.Header,
                ReplicaHeaderRead read => throw new ActorCkptException($"{node} answered with the header of '{read.Header.FileName}' of step {read.Header.Step}"),
                ReadReplicaHeaderFailure failure => throw new ActorCkptException(failure.Cause),
                var other => throw new ActorCkptException($"{node} answered {other.GetType().Name} to a header request"),
            };
            var copied = _store.CopyAsync(header, (offset, into) => fetch(node, step, file, offset, into, _frameSize, new List<CheckedFrame>()), CopyPieceBytes).GetAwaiter().GetResult();
            _log.Info("Replica holder of host '{0}': copied '{1}' of step {2} from {3} ({4} bytes)", _store.Host, file, step, node, copied.FileBytes);
            return new ReplicaCopied(step, file, _store.Host, copied.FileBytes);
        }, e => (new ReplicaCopyFailure(step, file, _store.Host, $"host '{_store.Host}': copying '{file}' of step {step} from {node}: {ErrorText.Of(e)}"),
            $"copying '{file}' of step {step} from {node} failed: {e.Message}"));
    }

    /// <summary>Runs <paramref name="work"/> off the actor's thread; its result, or what <paramref name="failed"/> makes of its exception, goes to the sender.</summary>
    private void Answer(Func<object> work, Func<Exception, (object? Message, string Problem)> failed)
    {
        var to = Sender;
        Run(work).PipeTo(Self,
            success: m => new HolderAnswer(to, m),
            failure: e =>
            {
                var (message, problem) = failed(e is AggregateException { InnerException: { } inner } ? inner : e);
                return new HolderAnswer(to, message, problem);
            });
    }

    /// <summary>The start-up scan: debris, listing, verification; on the blocking-I/O dispatcher.</summary>
    private HolderScanned Scan()
    {
        var debris = _store.RemoveDebris();
        // Spares of an earlier life of the host's processes that waited long enough; the rest wait for the next release.
        _store.ReleaseSpares(_tier.RecycleFor);
        var scan = _store.List();
        var held = new List<HeldReplica>();
        var corrupt = new List<string>();
        foreach (var replica in scan.Held)
        {
            if (_tier.VerifyFull && _store.Verify(replica) is { } problem)
            {
                _store.Drop(replica.Step, new[] { replica.DataFile });
                corrupt.Add(problem);
            }
            else held.Add(replica);
        }
        return new HolderScanned(Inventory(held), debris, scan.Unreadable.ToArray(), corrupt.ToArray());
    }

    /// <summary>The announcement of <paramref name="held"/>, with the budget on the store's file system as it is now.</summary>
    private RegisterHolder Inventory(IEnumerable<HeldReplica> held) =>
        new(_store.Host, _self, _tier.BudgetOn(_store.Usage().TmpfsSize), held.ToArray());

    /// <summary><paramref name="work"/> run on the blocking-I/O dispatcher.</summary>
    private Task<T> Run<T>(Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _io.Schedule(new ActionRunnable(() =>
        {
            try
            {
                done.SetResult(work());
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        }));
        return done.Task;
    }
}

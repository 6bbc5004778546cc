using System.Diagnostics;
using Akka.Actor;
using Akka.Event;

namespace ActorCkpt;

/// <summary>
/// The object tier's uploader, a child of the planner: copies committed steps from the checkpoint
/// root to the tier's root (<see cref="StepUpload"/>) one at a time on the thread pool, in the order
/// <see cref="UploadQueue"/> decides, and answers each <see cref="UploadStep"/> with its outcome.
/// Training never waits for it: the planner announced the step committed before asking.
/// </summary>
internal sealed class ObjectTierActor : ReceiveActor, IWithUnboundedStash, IWithTimers
{
    private readonly CheckpointStore _local;
    private readonly ActorCkptSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly UploadQueue _queue = new();
    private readonly Dictionary<long, (UploadStep Request, IActorRef ReplyTo)> _requests = new();
    private CancellationTokenSource? _running;
    private CancellationTokenSource? _abandon;
    // The upload under way; one abandoned at its deadline may still end later (its outcome is then stale).
    private long _attempt;
    // Set by the first upload that marked the tier (uploads run one at a time, on the thread pool).
    private volatile bool _marked;
    private readonly List<IActorRef> _awaitingIdle = new();

    /// <summary>Creates the uploader; use <see cref="Props"/>.</summary>
    public ObjectTierActor(CheckpointStore local, ActorCkptSettings settings)
    {
        (_local, _settings) = (local, settings);
        Become(Ready);
    }

    /// <inheritdoc />
    public IStash Stash { get; set; } = null!;

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    private void Ready()
    {
        Receive<UploadStep>(OnUploadStep);
        Receive<Uploaded>(OnUploaded);
        Receive<UploadOverdue>(OnUploadOverdue);
        Receive<FindUploads>(OnFindUploads);
        Receive<DeleteUpload>(OnDeleteUpload);
        Receive<UploadRemoved>(m =>
        {
            if (m.Failure is null) _log.Info("Object tier: step {0} removed from '{1}'", m.Step, Root);
            // The catalog no longer counts it; the copy left behind is found again at the next start and trimmed again.
            else _log.Warning("Object tier: step {0} could not be removed from '{1}': {2}", m.Step, Root, m.Failure);
        });
        Receive<AwaitUploads>(_ =>
        {
            if (_queue.Current is null) Sender.Tell(UploadsIdle.Instance);
            else _awaitingIdle.Add(Sender);
        });
    }

    /// <summary>Props of the uploader from <paramref name="local"/> to the object tier <paramref name="settings"/> name.</summary>
    public static Props Props(CheckpointStore local, ActorCkptSettings settings) => Akka.Actor.Props.Create(() => new ObjectTierActor(local, settings));

    private string Root => _settings.ObjectTier.Root;

    private void OnUploadStep(UploadStep m)
    {
        // A second request for a step already in line is answered once, when its upload ends.
        if (_requests.TryGetValue(m.Step, out var known) && known.Request.SaveId == m.SaveId) return;
        _requests[m.Step] = (m, Sender);
        var turn = _queue.Enqueue(m.Step);
        if (turn.Superseded is { } dropped && _requests.Remove(dropped, out var old))
            old.ReplyTo.Tell(new UploadStepFailure(dropped, old.Request.SaveId, $"step {m.Step} became due before its upload could start; only the newest waiting step is uploaded"));
        if (turn.Start is { } start) Start(start);
    }

    private void Start(long step)
    {
        var (request, _) = _requests[step];
        var (settings, local, system) = (_settings, _local, Context.System);
        // One deadline, the timer's: cancelled here, by the actor's stop, or given up at the deadline (_abandon).
        _running = new CancellationTokenSource();
        _abandon = new CancellationTokenSource();
        var (cancel, abandon) = (_running.Token, _abandon.Token);
        var started = Stopwatch.GetTimestamp();
        var attempt = ++_attempt;
        // The copy stops at the deadline only where it checks its token (between reads, and its object
        // writers abandon their waits): a store that stops answering holds its requests far longer, so
        // the upload is answered as abandoned at the deadline, whatever the copy still does.
        Timers.StartSingleTimer(nameof(UploadOverdue), new UploadOverdue(attempt, request, started), settings.ObjectTier.UploadTimeout);
        _log.Info("Object tier: uploading step {0} to '{1}'", step, Root);
        Task.Run(() =>
            {
                var target = ObjectTierStores.Get(system).Open(settings);
                if (!_marked) Mark(target);
                return StepUpload.Run(local, target, request.Step, request.MetadataChecksum, parallelism: 2, cancel, abandon);
            }, cancel)
            .ContinueWith(t => new Uploaded(attempt, request, t.IsCompletedSuccessfully ? t.Result : null,
                t.IsCompletedSuccessfully ? null
                : abandon.IsCancellationRequested ? NotDoneWithin(settings)
                : cancel.IsCancellationRequested ? "the uploader stopped"
                : ErrorText.Of(t.Exception!.InnerExceptions.Count == 1 ? t.Exception.InnerException! : t.Exception),
                Stopwatch.GetElapsedTime(started)), TaskScheduler.Default)
            .PipeTo(Self);
    }

    /// <summary>
    /// Marks the tier as this root's before its first step lands, so that no root of its own is made there
    /// (a catalog rebuild, a job's start); says so when it names another root (off the actor's thread).
    /// </summary>
    private void Mark(CheckpointStore target)
    {
        var id = _local.RootId();
        var owner = target.MarkObjectTierOf(id);
        if (owner != id)
            _log.Warning("Object tier: '{0}' is marked as the tier of the root with id {1}, not of this root ({2}): fine for a root that lost its disk and uploads on; "
                + "if another job uploads there too, each one's tier retention and clean-up delete the other's steps, so give each root a tier of its own",
                Root, owner.Length == 0 ? "(unreadable)" : owner, id);
        _marked = true;
    }

    private static string NotDoneWithin(ActorCkptSettings settings) =>
        $"not done within {settings.ObjectTier.UploadTimeout} (actorckpt.tiers.object.upload-timeout)";

    private void OnUploadOverdue(UploadOverdue m)
    {
        if (m.Attempt != _attempt || _running is null) return;
        _log.Warning("Object tier: the upload of step {0} to '{1}' is abandoned: {2}; its copy stops as soon as the store lets it, and what it left "
                     + "is removed by the next upload of the step or the tier's start", m.Request.Step, Root, NotDoneWithin(_settings));
        // Not disposed: the copy still holds their tokens.
        _abandon!.Cancel();
        (_running, _abandon) = (null, null);
        Finish(new Uploaded(m.Attempt, m.Request, null, NotDoneWithin(_settings), Stopwatch.GetElapsedTime(m.Started)));
    }

    private void OnUploaded(Uploaded m)
    {
        if (m.Attempt != _attempt || _running is null)
        {
            // The copy of an upload abandoned at its deadline, ending now.
            _log.Info("Object tier: the abandoned upload of step {0} ended after {1:F1} s{2}", m.Request.Step, m.Elapsed.TotalSeconds,
                m.Failure is null ? " (it had finished; the step is found in the tier at the next start)" : ": " + m.Failure);
            return;
        }
        Timers.Cancel(nameof(UploadOverdue));
        _running.Dispose();
        _abandon?.Dispose();
        (_running, _abandon) = (null, null);
        Finish(m);
    }

    /// <summary>Answers the upload's request with its outcome, then starts the next one in line, or tells those waiting that none is left.</summary>
    private void Finish(Uploaded m)
    {
        if (_requests.Remove(m.Request.Step, out var entry))
        {
            if (m.Result is { } r)
            {
                _log.Info("Object tier: step {0} {1} '{2}': {3} files, {4} bytes in {5:F1} s", m.Request.Step, r.AlreadyThere ? "was already in" : "uploaded to",
                    Root, r.Files, r.Bytes, m.Elapsed.TotalSeconds);
                entry.ReplyTo.Tell(new UploadStepSuccess(m.Request.Step, m.Request.SaveId, Root, r.MetadataChecksum, r.Files, r.Bytes, m.Elapsed, r.AlreadyThere));
            }
            else
            {
                entry.ReplyTo.Tell(new UploadStepFailure(m.Request.Step, m.Request.SaveId, m.Failure!));
            }
        }
        if (_queue.Finished(m.Request.Step) is { } next) Start(next);
        else
        {
            foreach (var waiting in _awaitingIdle) waiting.Tell(UploadsIdle.Instance);
            _awaitingIdle.Clear();
        }
    }

    /// <summary>Lists the tier's committed steps off the actor's thread; the planner journals the ones its catalog lacks.</summary>
    private void OnFindUploads(FindUploads m)
    {
        var (settings, root, system) = (_settings, Root, Context.System);
        var known = m.Known.ToHashSet();
        Task.Run(() =>
            {
                var target = ObjectTierStores.Get(system).Open(settings);
                var found = new List<FoundUpload>();
                foreach (var step in target.CommittedSteps().Where(s => !known.Contains(s)))
                {
                    var (metadata, checksum) = target.ReadMetadataWithChecksum(step);
                    found.Add(new FoundUpload(step, checksum, metadata.Files.Count, metadata.Files.Sum(f => f.Length)));
                }
                return found.ToArray();
            })
            .ContinueWith(t => t.IsCompletedSuccessfully
                ? new UploadsFound(root, t.Result, null)
                : new UploadsFound(root, [], ErrorText.Of(t.Exception!.InnerExceptions.Count == 1 ? t.Exception.InnerException! : t.Exception)), TaskScheduler.Default)
            .PipeTo(Sender);
        if (m.MayUpload is not { } mayUpload) return;
        // Steps that may still be uploaded keep what their last copy left, for the next upload to
        // complete; and no upload starts until the removal is over (requests wait in the stash), so
        // none can write a step while it is judged or removed.
        var keep = mayUpload.Concat(_requests.Keys).ToHashSet();
        if (_queue.Current is { } current) keep.Add(current);
        Task.Run(() => TierLeftovers.Remove(ObjectTierStores.Get(system).Open(settings), keep))
            .ContinueWith(t => t.IsCompletedSuccessfully ? new LeftoversRemoved(t.Result, null) : new LeftoversRemoved(TierLeftovers.None, ErrorText.Of(t.Exception!.GetBaseException())),
                TaskScheduler.Default)
            .PipeTo(Self);
        Become(() =>
        {
            Receive<LeftoversRemoved>(removed =>
            {
                OnLeftoversRemoved(removed);
                Become(Ready);
                Stash.UnstashAll();
            });
            ReceiveAny(_ => Stash.Stash());
        });
    }

    private void OnLeftoversRemoved(LeftoversRemoved m)
    {
        if (m.Failure is not null) _log.Warning("Object tier: the leftovers of unfinished copies in '{0}' could not all be removed: {1}", Root, m.Failure);
        if (m.Removed.Steps.Count > 0)
            _log.Info("Object tier: removed from '{0}' what unfinished copies left of steps {1}, which can no longer be uploaded", Root, string.Join(", ", m.Removed.Steps));
        if (m.Removed.UploadsAborted.Count > 0)
            _log.Info("Object tier: aborted {0} unfinished upload(s) in '{1}': {2}", m.Removed.UploadsAborted.Count, Root, string.Join(", ", m.Removed.UploadsAborted));
    }

    /// <summary>Removes a step from the tier off the actor's thread: its metadata first (it stops counting as committed there), then its objects.</summary>
    private void OnDeleteUpload(DeleteUpload m)
    {
        var (settings, system) = (_settings, Context.System);
        Task.Run(() => ObjectTierStores.Get(system).Open(settings).Delete(m.Step))
            .ContinueWith(t => new UploadRemoved(m.Step, t.IsCompletedSuccessfully ? null : ErrorText.Of(t.Exception!.GetBaseException())), TaskScheduler.Default)
            .PipeTo(Self);
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        // An upload under way stops between reads; its writers abort their unfinished objects.
        _running?.Cancel();
        base.PostStop();
    }

    /// <summary>The start's removal of unfinished copies ended: what went, and why it stopped short, or null.</summary>
    private sealed record LeftoversRemoved(TierLeftovers.Removed Removed, string? Failure);

    /// <summary>A removal from the tier ended; <paramref name="Failure"/> says why it failed, or is null.</summary>
    private sealed record UploadRemoved(long Step, string? Failure);

    /// <summary>Upload <paramref name="Attempt"/> ended: its result, or why it failed.</summary>
    private sealed record Uploaded(long Attempt, UploadStep Request, StepUploadResult? Result, string? Failure, TimeSpan Elapsed);

    /// <summary>Upload <paramref name="Attempt"/> (of <paramref name="Request"/>, started at timestamp <paramref name="Started"/>) reached its deadline.</summary>
    private sealed record UploadOverdue(long Attempt, UploadStep Request, long Started);
}

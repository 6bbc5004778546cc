using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using Akka.Streams.Dsl;

namespace ActorCkpt;

/// <summary>
/// Writes data files: from staged buffers by reference (same node) or from a stream of
/// checksummed chunks (another node). A failed attempt crashes the actor with
/// <see cref="WriteFileException"/>; its supervisor restarts it and the request is retried after a
/// backoff (re-sent to itself, or re-streamed by the shard), up to <see cref="ActorCkptSettings.MaxRetries"/> retries.
/// The backoffs are timers keyed by file and attempt, so they stop with the writer; as a restart
/// cancels the timers of the instance that failed, each backoff waiting out its time goes to the
/// next instance (<see cref="RetryBackoff"/>), which arms it again for what remains. The last failure is not
/// thrown but reported as <see cref="WriteFileFailure"/> naming the file and the cause; so is a
/// failure no retry can cure (a full disk, read-only or forbidden storage: <see cref="StorageErrors.IsPermanent"/>; bytes whose
/// staging failed: <see cref="StagingFailedException"/>), at once. A file handed over before its rank was wholly staged
/// (<see cref="WriteFile.Staging"/>) is written item by item as the items are staged. A file of the
/// memory tier (<see cref="WriteFile.Tier"/>) goes into the node's tmpfs replica store instead of the
/// step directory, through the same code and with the same outcome; a node without a store refuses it
/// at once. Every answer carries the copy (<see cref="WriteFile.Replica"/>) it was asked for.
/// </summary>
internal sealed class WriterActor : ReceiveActor, IWithTimers
{
    private readonly IBlobStore _store;
    private readonly ReplicaStore? _replicas;
    private readonly ActorCkptSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    // Stream stages write to disk, so they run on the blocking-I/O dispatcher, never on the
    // default one whose threads the cluster's heartbeats need.
    private readonly IMaterializer _materializer = Context.Materializer(
        ActorMaterializerSettings.Create(Context.System).WithDispatcher("akka.actor.default-blocking-io-dispatcher"));
    private readonly WriteBackoffs _backoffs;
    // The request being written: what a restart for its failure retries. Not the message the
    // restart names, which for a retry is the timer's envelope around it.
    private object? _writing;

    /// <summary>Creates the writer; use <see cref="Props"/>.</summary>
    public WriterActor(IBlobStore store, ActorCkptSettings settings, ReplicaStore? replicas = null)
    {
        _store = store;
        _replicas = replicas;
        _settings = settings;
        _backoffs = new WriteBackoffs(settings);
        Receive<WriteFile>(Write);
        ReceiveAsync<WriteFileStreamed>(WriteStreamed);
        Receive<RetryBackoff>(Arm);
        Receive<ResendDue>(due =>
        {
            _backoffs.Over(due.Key);
            due.Shard.Tell(due.Resend);
        });
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>
    /// Props of a writer on the configured writer dispatcher, writing memory-tier files into
    /// <paramref name="replicas"/> (null: the node holds no memory replicas).
    /// </summary>
    public static Props Props(IBlobStore store, ActorCkptSettings settings, ReplicaStore? replicas = null) =>
        Akka.Actor.Props.Create(() => new WriterActor(store, settings, replicas)).WithDispatcher(settings.WriterDispatcher);

    private void Write(WriteFile request)
    {
        // When this is a retry, its backoff is over.
        _backoffs.Over(WriteBackoffs.Key(request.SaveId, request.Plan.FileName, request.Attempt));
        if (RefusedMemory(request.Step, request.SaveId, request.Plan, request.ReplyTo, request.Attempt, request.Replica, request.Tier)) return;
        _writing = request;
        Attempt(request.Step, request.SaveId, request.Plan, request.ReplyTo, request.Attempt, request.Replica, () =>
        {
            // Where a file's time goes (debug log): writing, or waiting for its rank's staging copy.
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var waited = TimeSpan.Zero;
            var result = DataFileBufferWriter.Write(() => OpenFile(request.Step, request.SaveId, request.Plan, request.Tier), request.Plan, request.Data,
                request.Staging is { } staging
                    ? i =>
                    {
                        var before = System.Diagnostics.Stopwatch.GetTimestamp();
                        staging.WaitFor(request.Plan.Items[i].Index);
                        waited += System.Diagnostics.Stopwatch.GetElapsedTime(before);
                    }
                    : null);
            _log.Debug("Wrote {0} ({1} bytes, checksummed as written, {2}) in {3:F1} ms, {4:F1} ms of them waiting for staging",
                request.Plan.FileName, result.Length, request.Tier == StorageTier.Memory ? "published in the replica store" : "fsynced", System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds, waited.TotalMilliseconds);
            return result;
        });
    }

    /// <summary>
    /// Writes a file whose bytes stream in from another node. The actor takes no other message
    /// until the file is done, so a writer has one file in flight, as with local writes.
    /// </summary>
    private async Task WriteStreamed(WriteFileStreamed request)
    {
        // Before the shard is asked for the bytes: it has nothing to push to a node that cannot hold them.
        if (RefusedMemory(request.Step, request.SaveId, request.Plan, request.ReplyTo, request.Attempt, request.Replica, request.Tier)) return;
        _writing = request;
        FileWriteResult? result = null;
        Exception? failure = null;
        try
        {
            result = _settings.TransferOverChannel && request.Grant is { } grant
                ? await ReceivePushed(request, grant)
                : await ReceiveStreamRef(request);
        }
        catch (Exception e)
        {
            failure = e;
        }
        Attempt(request.Step, request.SaveId, request.Plan, request.ReplyTo, request.Attempt, request.Replica,
            () => failure is null ? result! : throw failure);
    }

    /// <summary>The bytes of a streamed file as a StreamRef of checksummed chunks (<c>transfer.path = stream-refs</c>).</summary>
    private async Task<FileWriteResult> ReceiveStreamRef(WriteFileStreamed request)
    {
        var offer = await request.ReplyTo.Ask<IActorCkptMessage>(
            new StreamFile(request.SaveId, request.Plan.FileName, Self, Replica: request.Replica), _settings.WriteTimeout);
        if (offer is not StreamFileSuccess stream)
            throw new ActorCkptException($"no bytes for '{request.Plan.FileName}': {(offer as StreamFileFailure)?.Cause}");
        using var file = OpenFile(request.Step, request.SaveId, request.Plan, request.Tier);
        await stream.Source.Source.RunForeach(chunk =>
        {
            if (!TransferChunks.IsIntact(chunk))
                throw new ActorCkptException($"chunk of item {chunk.Item} at {chunk.Offset} of '{request.Plan.FileName}' arrived corrupted");
            file.Append(chunk.Item, chunk.Offset, chunk.Bytes);
        }, _materializer);
        return file.Complete();
    }

    /// <summary>
    /// The bytes of a streamed file pushed over the bulk channel: the node's server expects the push
    /// with this attempt's token of the planner's grant, the shard is told where to push, and the
    /// file is complete (fsynced) once the transfer is. A transfer that fails, or does not end within
    /// the write timeout, fails the attempt; nothing it wrote reaches the file after that.
    /// </summary>
    private async Task<FileWriteResult> ReceivePushed(WriteFileStreamed request, TransferToken grant)
    {
        var channel = BulkChannels.Get(Context.System).For(_settings);
        using var file = OpenFile(request.Step, request.SaveId, request.Plan, request.Tier);
        var sink = new FileTransferSink(file, request.Plan, () => _settings.KillAt.Reached("receiving", request.Step));
        using var giveUp = new CancellationTokenSource(_settings.WriteTimeout);
        try
        {
            var received = channel.Server.ExpectPush(grant.ForAttempt(request.Attempt), sink.Length, sink, channel.TokenTtl, giveUp.Token);
            // The shard answers once its push ended; a push that failed before this node admitted
            // it (no connection, refused) ends the attempt at once instead of at the token's expiry.
            var pushed = request.ReplyTo.Ask<IActorCkptMessage>(
                new StreamFile(request.SaveId, request.Plan.FileName, Self, channel.Server.Endpoint, request.Attempt, request.Replica), _settings.WriteTimeout);
            if (await Task.WhenAny(received, pushed).WaitAsync(giveUp.Token) == pushed)
            {
                var answer = await pushed;
                if (answer is not StreamFilePushed { Failure: null })
                    throw new ActorCkptException($"no bytes for '{request.Plan.FileName}': {(answer as StreamFilePushed)?.Failure ?? (answer as StreamFileFailure)?.Cause ?? answer.GetType().Name}");
            }
            await received.WaitAsync(giveUp.Token);
            return sink.Result ?? throw new ActorCkptException($"the push of '{request.Plan.FileName}' ended without completing the file");
        }
        catch (OperationCanceledException) when (giveUp.IsCancellationRequested)
        {
            throw new ActorCkptException($"the bytes of '{request.Plan.FileName}' did not arrive within {_settings.WriteTimeout}");
        }
        finally
        {
            giveUp.Cancel();
            sink.Close();
        }
    }

    /// <summary>
    /// The file <paramref name="plan"/> describes, opened for writing: on disk in the step's directory,
    /// or for <see cref="StorageTier.Memory"/> a replica in the node's store (published on completion).
    /// </summary>
    private IDataFileSink OpenFile(long step, Guid saveId, FileWritePlan plan, StorageTier tier) =>
        tier == StorageTier.Memory
            ? _replicas!.Create(step, saveId, plan, _settings.ChecksumBlockSize, DataFileTags.Of(step, plan))
            : new DataFileStreamWriter(_store, CheckpointLayout.StepDirectory(step), plan, _settings.ChecksumBlockSize, DataFileTags.Of(step, plan));

    /// <summary>
    /// Refuses a memory-tier file on a node without a replica store, answering a permanent
    /// <see cref="WriteFileFailure"/> at once (no retry can cure it); false when the file can be written here.
    /// </summary>
    private bool RefusedMemory(long step, Guid saveId, FileWritePlan plan, IActorRef replyTo, int attempt, int replica, StorageTier tier)
    {
        if (tier != StorageTier.Memory || _replicas is not null) return false;
        var cause = $"node {Self.Path.Address} holds no memory replicas (actorckpt.tiers.memory.enabled is off there)";
        _log.Error("Write of {0} (step {1}, copy {2}) refused: {3}", plan.FileName, step, replica, cause);
        replyTo.Tell(new WriteFileFailure(step, saveId, plan.FileName, attempt, cause, replica));
        return true;
    }

    /// <summary>Replies success, or fails the attempt: crash for a retry, or report once retries are spent.</summary>
    private void Attempt(long step, Guid saveId, FileWritePlan plan, IActorRef replyTo, int attempt, int replica, Func<FileWriteResult> write)
    {
        try
        {
            var result = write();
            _settings.KillAt.Reached("file-written", step);
            replyTo.Tell(new WriteFileSuccess(step, saveId, result, attempt, replica));
        }
        catch (Exception e) when (attempt <= _settings.MaxRetries && !StorageErrors.IsPermanent(e) && e is not StagingFailedException)
        {
            _log.Warning("Write of {0} (step {1}) failed on attempt {2}: {3}; retrying", plan.FileName, step, attempt, e.Message);
            throw new WriteFileException(plan.FileName, attempt, e);
        }
        catch (Exception e)
        {
            _log.Error(e, "Write of {0} (step {1}) failed on attempt {2}; giving up", plan.FileName, step, attempt);
            replyTo.Tell(new WriteFileFailure(step, saveId, plan.FileName, attempt, $"{e.GetType().Name}: {e.Message}", replica));
        }
    }


    /// <summary>Arms the timer of a retry for what remains of its backoff.</summary>
    private void Arm(RetryBackoff backoff)
    {
        var remaining = _backoffs.Arm(backoff);
        Timers.StartSingleTimer(backoff.Key, backoff.Retry, remaining);
        _log.Debug("Retry {0} armed, due in {1} ms", backoff.Key, (long)remaining.TotalMilliseconds);
    }

    /// <summary>
    /// Hands the next instance its backoffs: those this one armed and that are not over, and the
    /// retry of the request that failed (<see cref="_writing"/>). Timers cannot carry them: Akka
    /// cancels this instance's timers before <see cref="PreRestart"/>, and a timer started here
    /// would never fire. Sent to itself, they are in the mailbox the next instance reads.
    /// </summary>
    protected override void PreRestart(Exception reason, object message)
    {
        foreach (var backoff in _backoffs.Armed) Self.Tell(backoff);
        if (reason is WriteFileException && _backoffs.RetryOf(_writing, Self) is { } retry) Self.Tell(retry);
        base.PreRestart(reason, message);
    }
}

using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using ActorCkpt.Io;
using ActorCkpt.Planner;

namespace ActorCkpt.Actors;

/// <summary>
/// Coordinates saves. Gathers every rank's local plan (with a deadline), builds the global plan
/// (dedup, assignment to registered writers and files), prepares the step directory, sends each
/// rank its writes, and once every rank has reported, commits: metadata written under a
/// temporary name, fsynced, renamed, tracker moved. Then every rank hears
/// <see cref="CheckpointCommitted"/>; on any failure, <see cref="CheckpointAborted"/> and no metadata.
/// Any error while handling a save aborts that save only; the planner itself keeps running.
/// </summary>
public sealed class PlannerActor : ReceiveActor
{
    private const int AbortedStepsRemembered = 64;
    private readonly CheckpointStore _store;
    private readonly ActorCkptSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<IActorRef> _writers = new();
    private readonly Dictionary<long, PlannerSave> _saves = new();
    // Aborted steps and the ranks whose plans had not arrived: a late plan from one of those
    // belongs to the dead attempt and is refused; a plan from any other rank starts a new attempt.
    private readonly Dictionary<long, (string Reason, HashSet<int> Late)> _aborted = new();
    private readonly Queue<long> _abortedOrder = new();
    private readonly string _writerPoolName;

    /// <summary>Creates the planner; use <see cref="Props"/>.</summary>
    public PlannerActor(CheckpointStore store, ActorCkptSettings settings, string writerPoolName)
    {
        _store = store;
        _settings = settings;
        _writerPoolName = writerPoolName;
        Receive<RegisterWriter>(m => Register(m.Writer));
        Receive<WritersListed>(m =>
        {
            foreach (var w in m.Writers) Register(w);
        });
        Receive<Terminated>(t =>
        {
            _writers.Remove(t.ActorRef);
        });
        Receive<ClusterEvent.MemberUp>(m =>
        {
            // Writers are discovered from membership, so a planner that just took over the
            // singleton finds every pool that is already up.
            if (m.Member.HasRole(ClusterRoles.Writer))
                Context.ActorSelection(new RootActorPath(m.Member.Address) / "user" / _writerPoolName).Tell(new ListWriters());
        });
        Receive<ClusterEvent.MemberRemoved>(m => _writers.RemoveAll(w => w.Path.Address.Equals(m.Member.Address)));
        Receive<ReassignWrite>(OnReassignWrite);
        Receive<ListWriters>(_ => Sender.Tell(new WritersListed(_writers.ToArray())));
        Receive<SubmitLocalPlan>(OnSubmitLocalPlan);
        Receive<ReportWrites>(OnReportWrites);
        Receive<PlanDeadlinePassed>(OnPlanDeadline);
        Receive<WriteDeadlinePassed>(OnWriteDeadline);
    }

    /// <summary>Props of the planner over <paramref name="store"/>; in a cluster it discovers the pools named <paramref name="writerPoolName"/>.</summary>
    public static Props Props(CheckpointStore store, ActorCkptSettings settings, string writerPoolName = "actorckpt-writers") =>
        Akka.Actor.Props.Create(() => new PlannerActor(store, settings, writerPoolName)).WithDispatcher(settings.PlannerDispatcher);

    /// <inheritdoc />
    protected override void PreStart()
    {
        Context.System.EventStream.Publish(new PlannerStarted(Self));
        if (Context.System.Settings.ProviderClass.Contains("Cluster", StringComparison.Ordinal))
            Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
                typeof(ClusterEvent.MemberUp), typeof(ClusterEvent.MemberRemoved));
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        if (Context.System.Settings.ProviderClass.Contains("Cluster", StringComparison.Ordinal))
            Cluster.Get(Context.System).Unsubscribe(Self);
    }

    private void Register(IActorRef writer)
    {
        if (_writers.Contains(writer)) return;
        _writers.Add(writer);
        Context.Watch(writer);
        foreach (var save in _saves.Values.Where(s => !s.Writing && s.AbortReason is null && !s.MissingPlans.Any()).ToList())
            StartWrites(save);
    }

    private void OnSubmitLocalPlan(SubmitLocalPlan msg)
    {
        var rank = msg.Plan.Rank;
        if (_aborted.TryGetValue(msg.Step, out var tombstone))
        {
            if (tombstone.Late.Remove(rank))
            {
                Sender.Tell(new CheckpointAborted(msg.Step, tombstone.Reason));
                return;
            }
            _aborted.Remove(msg.Step);
        }
        if (!_saves.TryGetValue(msg.Step, out var save))
        {
            save = new PlannerSave(msg.Step, msg.Plan.WorldSize);
            _saves[msg.Step] = save;
            save.Deadline = Context.System.Scheduler.ScheduleTellOnceCancelable(_settings.PlanTimeout, Self, new PlanDeadlinePassed(msg.Step), Self);
        }
        if (save.AbortReason is not null)
        {
            // A rank of the aborted attempt saving again: a new attempt, which must not start
            // while the old one's writers may still be busy in the step directory.
            if (!save.NextAttempt.Any(n => n.Plan.Plan.Rank == rank)) save.NextAttempt.Add((msg, Sender));
            return;
        }
        if (save.Plans.ContainsKey(rank))
        {
            // The shard re-sends its plan until acknowledged: answer again, keep the first.
            Sender.Tell(new LocalPlanAccepted(msg.Step));
            return;
        }
        if (save.Writing)
        {
            Sender.Tell(new CheckpointAborted(msg.Step, $"rank {rank} sent its plan for step {msg.Step} after writing began"));
            return;
        }
        save.Plans[rank] = msg.Plan;
        save.Shards[rank] = Sender;
        Sender.Tell(new LocalPlanAccepted(msg.Step));
        var problem = msg.Plan.WorldSize != save.WorldSize ? $"rank {rank} says the world size is {msg.Plan.WorldSize}, earlier ranks said {save.WorldSize}"
            : rank < 0 || rank >= save.WorldSize ? $"rank {rank} is outside world size {save.WorldSize}"
            : msg.Step < 0 ? $"step {msg.Step} is negative"
            : null;
        if (problem is not null)
        {
            Abort(save, problem);
            return;
        }
        if (!save.MissingPlans.Any() && _writers.Count > 0) StartWrites(save);
    }

    private void StartWrites(PlannerSave save)
    {
        save.Deadline?.Cancel();
        try
        {
            var plan = GlobalSavePlanner.Create(save.Plans.Values.ToList(), _writers.Select(NodeOf).ToArray(),
                save.Shards.ToDictionary(s => s.Key, s => NodeOf(s.Value)), _settings.Planning, save.FileTag);
            _store.PrepareStep(save.Step);
            save.Plan = plan;
            save.Writers.AddRange(_writers);
            foreach (var (rank, shard) in save.Shards)
            {
                var files = plan.ForRank(rank).Select(f => new WriteAssignment(f, save.Writers[f.WriterIndex])).ToArray();
                shard.Tell(new AssignWrites(save.Step, save.SaveId, files));
            }
            _log.Debug("Step {0}: {1} files over {2} writers", save.Step, plan.Files.Count, _writers.Count);
        }
        catch (Exception e)
        {
            save.Plan = null;
            Abort(save, e is ActorCkptException or IOException ? e.Message : $"{e.GetType().Name}: {e.Message}");
            return;
        }
        save.Deadline = Context.System.Scheduler.ScheduleTellOnceCancelable(_settings.WriteTimeout, Self, new WriteDeadlinePassed(save.Step), Self);
    }

    private void OnReportWrites(ReportWrites msg)
    {
        if (!_saves.TryGetValue(msg.Step, out var save) || !save.Writing || msg.SaveId != save.SaveId) return;
        save.Reports[msg.Rank] = msg;
        if (save.AbortReason is null && msg.Failures.Count > 0)
            Abort(save, $"rank {msg.Rank} could not write " + string.Join("; ", msg.Failures));
        else if (save.AbortReason is null && save.AllReported)
            Commit(save);
        else if (save.AbortReason is not null && save.AllReported)
            Forget(save, removeDebris: true);
    }

    private void OnReassignWrite(ReassignWrite msg)
    {
        if (!_saves.TryGetValue(msg.Step, out var save) || save.SaveId != msg.SaveId || save.Plan is null || save.AbortReason is not null) return;
        // A writer is lost with its node: none of that node's writers is a candidate any more.
        _writers.RemoveAll(w => w.Equals(msg.LostWriter) || (w.Path.Address.HasGlobalScope && w.Path.Address.Equals(msg.LostWriter.Path.Address)));
        var index = save.Plan.Files.ToList().FindIndex(f => f.FileName == msg.File);
        if (index < 0) return;
        var file = save.Plan.Files[index];
        if (save.Reports.ContainsKey(file.Rank)) return;
        var rankNode = save.Shards.TryGetValue(file.Rank, out var shard) ? NodeOf(shard) : null;
        var candidates = _settings.Planning.Placement == Placement.Local && _writers.Any(w => NodeOf(w) == rankNode)
            ? _writers.Where(w => NodeOf(w) == rankNode).ToList()
            : _writers.ToList();
        if (candidates.Count == 0)
        {
            Abort(save, $"no writer left to write '{msg.File}' after {msg.LostWriter.Path} was lost");
            return;
        }
        // The least loaded survivor, by bytes it already has in this save.
        var load = save.Plan.Files.GroupBy(f => save.Writers[f.WriterIndex]).ToDictionary(g => g.Key, g => g.Sum(f => f.DataBytes));
        var writer = candidates.MinBy(w => load.GetValueOrDefault(w))!;
        if (!save.Writers.Contains(writer)) save.Writers.Add(writer);
        var moved = file with { WriterIndex = save.Writers.IndexOf(writer), WriterNode = NodeOf(writer) };
        save.Plan = save.Plan with { Files = save.Plan.Files.Select((f, i) => i == index ? moved : f).ToArray() };
        _log.Warning("Step {0}: '{1}' moves from lost writer {2} to {3}", save.Step, msg.File, msg.LostWriter.Path, writer.Path);
        Sender.Tell(new WriteReassigned(save.Step, save.SaveId, new WriteAssignment(moved, writer)));
    }

    private void Commit(PlannerSave save)
    {
        save.Deadline?.Cancel();
        CheckpointMetadata metadata;
        try
        {
            metadata = MetadataBuilder.Build(save.Step, save.Plan!, save.Reports.Values.SelectMany(r => r.Results), DateTimeOffset.UtcNow);
            _store.Commit(metadata);
        }
        catch (Exception e)
        {
            Abort(save, "commit failed: " + e.Message);
            return;
        }
        try
        {
            _store.MoveTracker(save.Step);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.Warning("Step {0} is committed but the '{1}' tracker could not move: {2}", save.Step, CheckpointLayout.LatestFile, e.Message);
        }
        var summary = new SaveSummary(save.Step, metadata.Files.Count, metadata.TotalFileBytes);
        foreach (var shard in save.Shards.Values) shard.Tell(new CheckpointCommitted(save.Step, summary));
        _saves.Remove(save.Step);
        _log.Info("Committed step {0}: {1} files, {2} bytes", save.Step, summary.Files, summary.Bytes);
    }

    /// <summary>The node an actor lives on: its address, this system's own for a local reference.</summary>
    private string NodeOf(IActorRef actor) =>
        (actor.Path.Address.HasGlobalScope ? actor.Path.Address : ((ExtendedActorSystem)Context.System).Provider.DefaultAddress).ToString();

    private void OnPlanDeadline(PlanDeadlinePassed msg)
    {
        if (_saves.TryGetValue(msg.Step, out var save) && !save.Writing && save.AbortReason is null)
        {
            var why = save.MissingPlans.Any()
                ? $"ranks {string.Join(", ", save.MissingPlans)} did not send their plan within {_settings.PlanTimeout}"
                : $"no writer registered within {_settings.PlanTimeout}";
            Abort(save, why);
        }
    }

    private void OnWriteDeadline(WriteDeadlinePassed msg)
    {
        if (_saves.TryGetValue(msg.Step, out var save) && save.Writing && !save.AllReported)
        {
            if (save.AbortReason is null)
                Abort(save, $"ranks {string.Join(", ", save.MissingReports)} did not finish writing within {_settings.WriteTimeout}");
            // Writers may still be busy: their files carry this attempt's tag, so leaving them is safe.
            Forget(save, removeDebris: false);
        }
    }

    private void Abort(PlannerSave save, string reason)
    {
        save.Deadline?.Cancel();
        save.AbortReason = reason;
        _log.Warning("Aborted step {0}: {1}", save.Step, reason);
        foreach (var shard in save.Shards.Values) shard.Tell(new CheckpointAborted(save.Step, reason));
        if (!save.Writing || save.AllReported) Forget(save, removeDebris: save.Writing);
        else save.Deadline = Context.System.Scheduler.ScheduleTellOnceCancelable(_settings.WriteTimeout, Self, new WriteDeadlinePassed(save.Step), Self);
    }

    /// <summary>Drops an aborted save; its uncommitted files are removed once no writer can still touch them.</summary>
    private void Forget(PlannerSave save, bool removeDebris)
    {
        save.Deadline?.Cancel();
        _saves.Remove(save.Step);
        _aborted[save.Step] = (save.AbortReason!, save.MissingPlans.ToHashSet());
        _abortedOrder.Enqueue(save.Step);
        while (_abortedOrder.Count > AbortedStepsRemembered) _aborted.Remove(_abortedOrder.Dequeue());
        if (removeDebris)
        {
            try
            {
                _store.DeleteUncommitted(save.Step);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _log.Warning("Could not remove the files of aborted step {0}: {1}", save.Step, e.Message);
            }
        }
        foreach (var (plan, shard) in save.NextAttempt) Self.Tell(plan, shard);
    }
}

namespace ActorCkpt;

/// <summary>
/// The planner's save rounds as a state machine, free of Akka: each event in returns the
/// <see cref="RoundDecision{TRef}"/>s to carry out, in order, and the planner actor only carries them
/// out. The life of a round (one attempt at one step):
/// <list type="number">
/// <item><see cref="Submit"/>: the first local plan opens the round and its plan deadline; each plan is
/// accepted (again when sent again); one that does not fit (world size, rank, step) aborts the round.</item>
/// <item>Every plan in and a writer registered (<see cref="WriterAdded"/>): <see cref="Plan"/> makes
/// the global plan, and the start is journaled; <see cref="Started"/> sends each rank its files and
/// starts the write deadline.</item>
/// <item>A rank lost a writer: <see cref="Reassign"/> moves the file as <see cref="WriteAssigner.Reassign"/>
/// decides, or aborts when no writer is left.</item>
/// <item><see cref="Report"/>: a failure aborts; the last report commits (<see cref="Committed"/> once
/// journaled, when the ranks hear it). A rank whose node left before it reported aborts the round
/// (<see cref="NodeLost"/>).</item>
/// <item>An abort (a failure, a deadline, a rank's <see cref="Cancel"/>) tells every rank and is
/// journaled; the round stays until every rank has reported (then its files go) or its write
/// deadline passes (then they stay, tagged with the attempt, as debris), and the plans of a new
/// attempt held meanwhile go back in.</item>
/// <item>The journal refusing or failing a persist is decided by <see cref="JournalRejected"/> and
/// <see cref="JournalFailed"/>.</item>
/// </list>
/// Aborted steps are remembered (a tombstone, with the ranks that had not sent their plan): a late
/// plan of the dead attempt is refused once, any other plan starts a new attempt. Events for another
/// attempt, or out of their phase, change nothing. <typeparamref name="TRef"/> names shards and
/// writers; <c>nodeOf</c> tells the node of each.
/// </summary>
/// <typeparam name="TRef">Who: a shard or a writer (an actor reference in the actor, a string in the specs).</typeparam>
internal sealed class SaveRounds<TRef>(RoundSettings settings, Func<TRef, string> nodeOf) where TRef : notnull
{
    private const int AbortedStepsRemembered = 64;
    private static readonly RoundDecision<TRef>[] None = Array.Empty<RoundDecision<TRef>>();
    private readonly Dictionary<long, SaveRound<TRef>> _rounds = new();
    private readonly Dictionary<long, Tombstone> _aborted = new();
    private readonly Queue<long> _abortedOrder = new();
    // Steps of one job usually have the same structure: their global plan is served from here.
    private readonly SavePlanCache _planCache = new();

    /// <summary>The round of <paramref name="step"/>, if one is in flight (alive or winding down).</summary>
    public SaveRound<TRef>? this[long step] => _rounds.GetValueOrDefault(step);

    /// <summary>The rounds in flight (alive or winding down).</summary>
    public IEnumerable<SaveRound<TRef>> InFlight => _rounds.Values;

    /// <summary>True while a round of <paramref name="step"/> is in flight (alive or winding down): its directory is not debris.</summary>
    public bool IsInFlight(long step) => _rounds.ContainsKey(step);

    /// <summary>True when a lost writer of attempt <paramref name="saveId"/> at <paramref name="step"/> is worth a new one (see <see cref="Reassign"/>).</summary>
    public bool Reassigns(long step, Guid saveId) =>
        this[step] is { Phase: RoundPhase.Writing, Alive: true } round && round.SaveId == saveId;

    /// <summary>A rank's local plan, from <paramref name="shard"/>; <paramref name="haveWriters"/> when a writer is registered.</summary>
    public IReadOnlyList<RoundDecision<TRef>> Submit(SubmitLocalPlan msg, TRef shard, bool haveWriters)
    {
        var rank = msg.Plan.Rank;
        var step = msg.Step;
        if (_aborted.TryGetValue(step, out var tombstone))
        {
            // A copy of a plan the aborted round already answered, re-sent before the answer came: its save is over.
            if (msg.Attempt != Guid.Empty && tombstone.Attempts.Contains(msg.Attempt)) return None;
            if (tombstone.Late.Remove(rank))
            {
                // Answered now, with the refusal: this rank's cancel of the same attempt may still come, and is that attempt's.
                tombstone.Answered.Add(rank);
                if (msg.Attempt != Guid.Empty) tombstone.Attempts.Add(msg.Attempt);
                return new[] { new RoundDecision<TRef>.RefusePlan(step, shard, tombstone.Reason) };
            }
            _aborted.Remove(step);
        }
        var decisions = new List<RoundDecision<TRef>>();
        if (!_rounds.TryGetValue(step, out var round))
        {
            _rounds[step] = round = new SaveRound<TRef>(step, msg.Plan.WorldSize) { Requested = msg.Tier };
            decisions.Add(new RoundDecision<TRef>.StartDeadline(step, RoundDeadline.Plans, settings.PlanTimeout));
        }
        if (!round.Alive)
        {
            // A copy of this rank's plan of the aborted attempt, re-sent before the abort reached it: not a next attempt.
            if (msg.Attempt != Guid.Empty && round.Plans.TryGetValue(rank, out var earlier) && earlier.Attempt == msg.Attempt) return decisions;
            // A plan of a next attempt a rank already cancelled: refused, as a tombstone would.
            if (round.NextAttemptCancelled is { } cancelled && cancelled.Late.Remove(rank))
                return new[] { new RoundDecision<TRef>.RefusePlan(step, shard, cancelled.Reason) };
            // A rank of the aborted attempt saving again: a new attempt, which must not start
            // while the old one's writers may still be busy in the step directory.
            if (!round.NextAttempt.Any(n => n.Plan.Plan.Rank == rank)) round.NextAttempt.Add((msg, shard));
            return decisions;
        }
        // The shard re-sends its plan until acknowledged: answer again, keep the first. Another shard's
        // plan for the same rank is another save of it (a second process given the rank, or a replacement
        // started while the old one lives): refused at once, or its caller would wait out its verdict deadline.
        if (round.Shards.TryGetValue(rank, out var saving))
            return EqualityComparer<TRef>.Default.Equals(saving, shard)
                ? new[] { new RoundDecision<TRef>.AcceptPlan(step, shard) }
                : new[] { new RoundDecision<TRef>.RefusePlan(step, shard, $"rank {rank} is already saving step {step} from node {nodeOf(saving)}: a rank saves a step from one place (was this rank given to two processes?)") };
        if (round.Phase != RoundPhase.Gathering)
            return new[] { new RoundDecision<TRef>.RefusePlan(step, shard, $"rank {rank} sent its plan for step {step} after writing began") };
        round.Plans[rank] = msg;
        round.Shards[rank] = shard;
        decisions.Add(new RoundDecision<TRef>.AcceptPlan(step, shard));
        var problem = step < 0 ? $"step {step} is negative" : Ranks.Problem(rank, msg.Plan.WorldSize, round.WorldSize)
            ?? (msg.Tier != round.Requested ? $"rank {rank} asked for tier {msg.Tier} and {round.Plans.Keys.Where(r => r != rank).Select(r => $"rank {r}").FirstOrDefault() ?? "the first rank"} for {round.Requested}: every rank of a save must ask for the same" : null);
        if (problem is not null) decisions.AddRange(Abort(round, problem));
        else if (haveWriters && round.ReadyToPlan) decisions.Add(new RoundDecision<TRef>.PlanWrites(step));
        return decisions;
    }

    /// <summary>A writer registered: every round that waited only for one is planned now.</summary>
    public IReadOnlyList<RoundDecision<TRef>> WriterAdded() =>
        _rounds.Values.Where(r => r.ReadyToPlan).Select(r => (RoundDecision<TRef>)new RoundDecision<TRef>.PlanWrites(r.Step)).ToArray();

    /// <summary>
    /// Plans the round of <paramref name="step"/> over <paramref name="writers"/>, unless the actor
    /// found it <paramref name="blocked"/> (the step is committed or being deleted): its start is journaled next.
    /// The tier policy decides the round's tier; a memory round places every file's copies on the
    /// hosts of <paramref name="memory"/> (null: no holder is registered) and is admitted by the budget,
    /// which may first evict older memory steps (or refuse the round, which is aborted naming why).
    /// A disk round is also aborted when the actor found it <paramref name="blockedOnDisk"/> (retention would delete the step at its commit).
    /// </summary>
    public IReadOnlyList<RoundDecision<TRef>> Plan(long step, IReadOnlyList<TRef> writers, string? blocked, MemoryView<TRef>? memory = null, string? blockedOnDisk = null)
    {
        if (this[step] is not { ReadyToPlan: true } round) return None;
        if (blocked is not null) return Abort(round, blocked);
        if (settings.Policy.Problem(round.Requested) is { } refused) return Abort(round, refused);
        round.Choice = settings.Policy.Choose(step, round.Requested);
        if (!round.InMemory && blockedOnDisk is not null) return Abort(round, blockedOnDisk);
        // A memory copy is kept by the rank's own host first: the plan's primary writers are local.
        var planning = round.InMemory ? settings.Planning with { Placement = Placement.Local } : settings.Planning;
        try
        {
            var plan = _planCache.GetOrCreate(round.Plans.Values.Select(p => p.Plan).ToList(), round.Plans.Values.Select(p => p.Fingerprint).ToList(),
                writers.Select(nodeOf).ToArray(), round.Shards.ToDictionary(s => s.Key, s => nodeOf(s.Value)), planning, round.FileTag);
            round.Pending = (plan, writers.ToArray());
        }
        catch (Exception e)
        {
            return Abort(round, ErrorText.Of(e));
        }
        var decisions = new List<RoundDecision<TRef>> { new RoundDecision<TRef>.CancelDeadline(step) };
        if (round.InMemory)
        {
            if (memory is null) return Abort(round, $"step {step} goes to the memory tier, but no node holds memory replicas (none has registered its holder)");
            var (copies, problem) = MemoryAssignments.Place(round.Pending.Value.Plan, writers, rank => memory.HostOfNode(nodeOf(round.Shards[rank])), memory, settings.Replicas, nodeOf);
            if (problem is not null) return Abort(round, problem);
            var admission = memory.Budget.Admit(memory.Held.Where(h => h.Step != step).ToArray(), MemoryAssignments.BytesByHost(copies, settings.BytesOfCopy));
            if (admission.Refusal is not null) return Abort(round, $"step {step} does not fit in the memory tier: {admission.Refusal}");
            round.Copies = copies;
            decisions.AddRange(admission.Evict.Select(v => new RoundDecision<TRef>.EvictMemory(step, v, $"to make room for step {step}")));
        }
        // The start is journaled before the directory exists, so a crash from here on leaves a
        // catalog entry that recovery resolves (and whose debris it removes).
        round.Phase = RoundPhase.Starting;
        decisions.Add(new RoundDecision<TRef>.RecordStart(step, round.SaveId, round.WorldSize, round.Choice.Round));
        return decisions;
    }

    /// <summary>The start is journaled and the directory prepared: every rank is sent its files, and the write deadline runs.</summary>
    public IReadOnlyList<RoundDecision<TRef>> Started(long step)
    {
        if (this[step] is not { Phase: RoundPhase.Starting, Pending: var (plan, writers) } round) return None;
        round.Phase = RoundPhase.Writing;
        round.Plan = plan;
        round.Pending = null;
        round.Writers.AddRange(writers);
        var decisions = new List<RoundDecision<TRef>>();
        foreach (var (rank, shard) in round.Shards.OrderBy(s => s.Key))
            decisions.Add(round.InMemory
                ? new RoundDecision<TRef>.AssignFiles(step, round.SaveId, shard, round.Copies.Where(c => c.File.Rank == rank).Select(c => (c.File, c.Writer, c.Replica)).ToArray(), StorageTier.Memory)
                : new RoundDecision<TRef>.AssignFiles(step, round.SaveId, shard, plan.ForRank(rank).Select(f => (f, round.Writers[f.WriterIndex], 0)).ToArray()));
        decisions.Add(new RoundDecision<TRef>.StartDeadline(step, RoundDeadline.Writes, settings.WritesDeadline(round.Choice.Round)));
        return decisions;
    }

    /// <summary>Something the actor did for the round failed (preparing the directory, the commit): it is aborted.</summary>
    public IReadOnlyList<RoundDecision<TRef>> Fail(long step, string reason) => this[step] is { Alive: true } round ? Abort(round, reason) : None;

    /// <summary>A rank's write report: a failure aborts the round; the last report commits it (or ends it, aborted).</summary>
    public IReadOnlyList<RoundDecision<TRef>> Report(ReportWrites msg)
    {
        if (this[msg.Step] is not { Writing: true } round || round.SaveId != msg.SaveId || round.Phase == RoundPhase.Committing) return None;
        if (!round.Plans.ContainsKey(msg.Rank)) return None;
        round.Reports[msg.Rank] = msg;
        if (round.Alive && msg.Failures.Count > 0) return Abort(round, $"rank {msg.Rank} could not write " + string.Join("; ", msg.Failures));
        if (!round.AllReported) return None;
        // Writers of a lost rank's files may still be busy: those files stay, tagged with the attempt.
        if (!round.Alive) return CancelAndEnd(round, removeDebris: round.LostRanks.Count == 0);
        var results = round.Plans.Keys.SelectMany(r => round.Reports[r].Results).ToArray();
        if (round.InMemory && CopyProblem(round, results) is { } bad) return Abort(round, bad);
        round.Phase = RoundPhase.Committing;
        return new RoundDecision<TRef>[]
        {
            new RoundDecision<TRef>.CancelDeadline(round.Step),
            round.InMemory
                ? new RoundDecision<TRef>.CommitMemoryStep(round.Step, round.SaveId, round.Plan!, results, round.Copies, round.Choice.Persist)
                : new RoundDecision<TRef>.CommitStep(round.Step, round.SaveId, round.Plan!, results),
        };
    }

    /// <summary>
    /// Why a memory round's copies cannot commit: a copy on a peer that its holder did not
    /// acknowledge, or one whose bytes differ from the own host's copy; null when every copy matches.
    /// </summary>
    private static string? CopyProblem(SaveRound<TRef> round, IReadOnlyList<FileWriteResult> results)
    {
        var primaries = results.ToDictionary(r => r.FileName, StringComparer.Ordinal);
        foreach (var copy in round.Copies)
        {
            var name = copy.File.FileName;
            if (!primaries.TryGetValue(name, out var primary)) return $"'{name}' was not written on its own host {copy.Host}";
            if (copy.Replica == 0) continue;
            var ack = round.Reports[copy.File.Rank].Copies?.FirstOrDefault(a => a.File == name && a.Replica == copy.Replica);
            if (ack is null) return $"copy {copy.Replica} of '{name}' on host {copy.Host} was not acknowledged";
            if (ResultDifference.Between(primary, ack.Result) is { } difference)
                return $"copy {copy.Replica} of '{name}' on host {copy.Host} differs from the own host's copy: {difference.Problem}";
        }
        return null;
    }

    /// <summary>
    /// A rank (<paramref name="shard"/>) lost the writer <paramref name="lost"/> of <paramref name="file"/>:
    /// the file moves to the least loaded of <paramref name="survivors"/> (the writers still registered,
    /// in registration order) as <see cref="WriteAssigner.Reassign"/> decides, or the round is aborted when none is left.
    /// A memory round is aborted when copy <paramref name="replica"/>'s writer is lost: its host is gone.
    /// </summary>
    public IReadOnlyList<RoundDecision<TRef>> Reassign(long step, Guid saveId, string file, string lost, TRef shard, IReadOnlyList<TRef> survivors, int replica = 0)
    {
        if (!Reassigns(step, saveId)) return None;
        var round = this[step]!;
        // A copy belongs to its host; another host would break the placement the budget admitted.
        if (round.InMemory)
            return round.Copies.FirstOrDefault(c => c.File.FileName == file && c.Replica == replica) is { } copy && !round.Reports.ContainsKey(copy.File.Rank)
                ? Abort(round, $"the writer of copy {replica} of '{file}' on host {copy.Host} was lost ({lost})")
                : None;
        var files = round.Plan!.Files;
        var index = files.Select(f => f.FileName).ToList().IndexOf(file);
        if (index < 0 || round.Reports.ContainsKey(files[index].Rank)) return None;
        var everyone = round.Writers.Concat(survivors.Where(w => !round.Writers.Contains(w))).ToArray();
        var survivorIndices = survivors.Select(w => Array.IndexOf(everyone, w)).ToArray();
        var rankNode = round.Shards.TryGetValue(files[index].Rank, out var owner) ? nodeOf(owner) : null;
        var moved = WriteAssigner.Reassign(files, index, everyone.Select(nodeOf).ToArray(), survivorIndices, rankNode, settings.Planning.Placement);
        if (moved is null) return Abort(round, $"no writer left to write '{file}' after {lost} was lost");
        var writer = everyone[moved.WriterIndex];
        if (!round.Writers.Contains(writer)) round.Writers.Add(writer);
        moved = moved with { WriterIndex = round.Writers.IndexOf(writer) };
        round.Plan = round.Plan with { Files = files.Select((f, i) => i == index ? moved : f).ToArray() };
        return new[] { new RoundDecision<TRef>.MoveFile(step, saveId, shard, moved, writer, lost) };
    }

    /// <summary>
    /// A rank's caller cancelled, or the rank could not stage its state (<paramref name="msg"/>): the
    /// round is aborted unless its commit has begun. With no round (yet), and unless the step is
    /// <paramref name="over"/> (committed or deleted: too late) or already aborted, a tombstone refuses
    /// the other ranks' plans of this attempt as they come.
    /// </summary>
    public IReadOnlyList<RoundDecision<TRef>> Cancel(AbortSave msg, bool over)
    {
        // A rank that lost the planner its plan went to aborts only a round alive here (another rank's plan, re-sent to this
        // successor, opened it). Kept as a tombstone, its word would refuse a restarted rank's save of the step long after.
        if (msg.PlannerLost && this[msg.Step] is not { Alive: true }) return None;
        if (this[msg.Step] is { } round)
        {
            if (round.Alive)
            {
                if (round.Phase == RoundPhase.Committing) return None;
                // A rank that cancels before sending its plan sends none: its next attempt's plan is not one to refuse.
                if (!msg.PlanSent) round.NoPlanComing.Add(msg.Rank);
                return Abort(round, msg.Reason);
            }
            // Another rank's cancel of this same attempt (a token the ranks share): its plan is the
            // round's, answered with the abort, and it has sent none of a next attempt.
            if (msg.PlanSent && round.Plans.ContainsKey(msg.Rank) && round.NextAttempt.All(p => p.Plan.Plan.Rank != msg.Rank)) return None;
            // Aborted and winding down: the cancel is the next attempt's. Its plans parked so far are
            // refused now, the others once each as they come; none starts a round when this one ends.
            if (round.NextAttemptCancelled is not null) return None;
            // The cancelling rank's own plan too: refused with its own reason, its save ends cancelled.
            // A cancelling rank that had not sent its plan of that attempt sends none: its next plan is a new attempt's.
            var parked = round.NextAttempt.ToArray();
            round.NextAttempt.Clear();
            round.NextAttemptCancelled = (msg.Reason, Enumerable.Range(0, msg.WorldSize)
                .Where(r => parked.All(p => p.Plan.Plan.Rank != r) && (r != msg.Rank || msg.PlanSent)).ToHashSet());
            return parked.Select(p => (RoundDecision<TRef>)new RoundDecision<TRef>.RefusePlan(msg.Step, p.Shard, msg.Reason))
                .Append(new RoundDecision<TRef>.Warn(msg.Step, $"Aborted the next attempt of step {msg.Step} before it began: {msg.Reason}")).ToArray();
        }
        if (over) return None;
        // A late cancel of an attempt that ended aborted, from a rank whose plan the abort answered.
        var buried = _aborted.GetValueOrDefault(msg.Step);
        if (buried is not null && msg.PlanSent && buried.Answered.Contains(msg.Rank)) return None;
        // A rank whose plan the aborted attempt still awaited cancels it (a token the ranks share): no plan of it is coming.
        if (buried is not null && !msg.PlanSent && !buried.Cancelled && buried.Late.Remove(msg.Rank)) return None;
        // A rank tells of its failure to stage once: one the tombstone does not await a plan from (the
        // rank whose failure buried it, or one whose plan it refused) fails a new attempt, which buries anew.
        var newAttemptFailed = msg.Failure is not null && !msg.PlanSent && buried is not null && !buried.Late.Contains(msg.Rank);
        if (buried is { Cancelled: true } && !newAttemptFailed)
        {
            // The same cancel again, or another rank's of the same attempt: a rank that sent no plan of it
            // sends none; one that did re-sends it until answered, and is refused.
            if (msg.PlanSent) buried.Late.Add(msg.Rank);
            else buried.Late.Remove(msg.Rank);
            return None;
        }
        // An aborted round's tombstone is an older attempt's: this cancel's replaces it, or the other
        // ranks' plans of this attempt would start a round that waits for this rank until its deadline.
        // The cancelling rank's own plan, when it sent one (to a planner since replaced), is refused too.
        Bury(msg.Step, msg.Reason, Enumerable.Range(0, msg.WorldSize).Where(r => r != msg.Rank || msg.PlanSent), cancelled: true);
        return new[] { new RoundDecision<TRef>.Warn(msg.Step, $"Aborted step {msg.Step} before it began: {msg.Reason}") };
    }

    /// <summary>
    /// The cluster removed <paramref name="node"/>: a rank whose shard was there and has not
    /// reported never will. A round still alive aborts at once instead of at its deadline (the
    /// other ranks hear it, and the rank's next attempt can begin); a round winding down stops
    /// waiting for such ranks and ends once the others reported, leaving the attempt's files
    /// (writers may still be busy with the lost rank's). A committing round needs no rank.
    /// </summary>
    public IReadOnlyList<RoundDecision<TRef>> NodeLost(string node)
    {
        var decisions = new List<RoundDecision<TRef>>();
        foreach (var round in _rounds.Values.ToArray())
        {
            // Plans parked for the next attempt from shards that are gone would start it with a rank that never writes.
            round.NextAttempt.RemoveAll(p => nodeOf(p.Shard) == node);
            if (round.Phase == RoundPhase.Committing) continue;
            var lost = round.Shards.Where(s => nodeOf(s.Value) == node && !round.Reports.ContainsKey(s.Key)).Select(s => s.Key).Order().ToArray();
            if (lost.Length == 0) continue;
            round.LostRanks.UnionWith(lost);
            if (round.Alive)
                decisions.AddRange(Abort(round, $"{(lost.Length == 1 ? "rank" : "ranks")} {string.Join(", ", lost)} left the cluster with node {node}"));
            else if (round.AllReported)
                decisions.AddRange(CancelAndEnd(round, removeDebris: false));
        }
        return decisions;
    }

    /// <summary>The round's <paramref name="kind"/> deadline passed (a cancelled timer never reports).</summary>
    public IReadOnlyList<RoundDecision<TRef>> DeadlinePassed(long step, RoundDeadline kind)
    {
        if (this[step] is not { } round) return None;
        if (kind == RoundDeadline.Plans)
        {
            if (round.Phase != RoundPhase.Gathering || !round.Alive) return None;
            var missing = round.MissingPlans.ToArray();
            return Abort(round, missing.Length > 0
                ? (missing.Length == 1 ? $"rank {missing[0]} did not send its plan" : $"ranks {string.Join(", ", missing)} did not send their plans") + $" within {settings.PlanTimeout}"
                : $"no writer registered within {settings.PlanTimeout} (no node with the '{ClusterRoles.Writer}' role has joined, or its writers could not start: " +
                  "a writer node whose root is not this one's says so in its own log)" + (settings.Policy.MemoryEnabled ? $" (a memory round also waits for {settings.Replicas} hosts with a replica holder and a writer)" : ""));
        }
        if (!round.Writing || round.AllReported || round.Phase == RoundPhase.Committing) return None;
        var decisions = new List<RoundDecision<TRef>>();
        if (round.Alive)
        {
            var missing = round.MissingReports.ToArray();
            round.AbortReason = round.InMemory
                ? $"copies of ranks {string.Join(", ", missing)} were not all acknowledged within {settings.WritesDeadline(StorageTier.Memory)} (their holders: " +
                  string.Join(", ", round.Copies.Where(c => missing.Contains(c.File.Rank)).Select(c => c.Host).Distinct().Order(StringComparer.Ordinal)) + ")"
                : $"ranks {string.Join(", ", missing)} did not finish writing within {settings.WriteTimeout}";
            decisions.Add(new RoundDecision<TRef>.AbortStep(step, round.SaveId, round.AbortReason, round.ShardList, Journal: true));
        }
        // Writers may still be busy: their files carry this attempt's tag, so leaving them is safe.
        return decisions.Concat(End(round, removeDebris: false)).ToArray();
    }

    /// <summary>The commit is journaled: the round is over, and its ranks hear it (the actor tells them once retention's deletions are journaled too).</summary>
    public IReadOnlyList<RoundDecision<TRef>> Committed(long step, SaveSummary summary)
    {
        if (this[step] is not { Phase: RoundPhase.Committing } round) return None;
        _rounds.Remove(step);
        return new[] { new RoundDecision<TRef>.AnnounceCommit(step, round.ShardList, summary) };
    }

    /// <summary>
    /// The journal refused <paramref name="event"/> (it could not serialize or store it) but works on.
    /// A refused commit: the metadata is in place, so the step is committed and its ranks hear so;
    /// recovery records it in the catalog from the disk. A refused start: the round is abandoned (its
    /// ranks hear why, nothing more is journaled for it, its files go). A refused abort or deletion changes nothing here.
    /// </summary>
    public IReadOnlyList<RoundDecision<TRef>> JournalRejected(ICatalogEvent @event, string cause)
    {
        if (@event is SaveAborted or CheckpointDeleted || this[@event.Step] is not { } round) return None;
        if (@event is SaveCommitted committed && round.Phase == RoundPhase.Committing)
        {
            _rounds.Remove(round.Step);
            return new RoundDecision<TRef>[]
            {
                new RoundDecision<TRef>.Warn(round.Step, $"step {round.Step} is committed (its metadata is in place) but the catalog journal rejected its commit ({cause}); the next recovery records it"),
                new RoundDecision<TRef>.AnnounceCommit(round.Step, round.ShardList, Summary(committed)),
            };
        }
        round.AbortReason ??= "journal rejected its event";
        var told = new RoundDecision<TRef>.AbortStep(round.Step, round.SaveId, $"the catalog journal rejected {@event.GetType().Name}: {cause}", round.ShardList, Journal: false);
        return new RoundDecision<TRef>[] { new RoundDecision<TRef>.CancelDeadline(round.Step), told }.Concat(End(round, removeDebris: true)).ToArray();
    }

    /// <summary>
    /// The journal failed while persisting <paramref name="event"/>: the planner stops, and its
    /// successor's recovery settles every round in flight from the disk. A round whose commit could
    /// not be journaled is committed all the same (its metadata is in place): its ranks hear that it
    /// committed. Every other round's ranks hear that it failed.
    /// </summary>
    public IReadOnlyList<RoundDecision<TRef>> JournalFailed(object @event, string cause) =>
        _rounds.Values.Select(round => @event is SaveCommitted c && c.Step == round.Step && round.Phase == RoundPhase.Committing
            ? (RoundDecision<TRef>)new RoundDecision<TRef>.AnnounceCommit(round.Step, round.ShardList, Summary(c))
            : new RoundDecision<TRef>.AbortStep(round.Step, round.SaveId, $"the catalog journal failed: {cause}", round.ShardList, Journal: false)).ToArray();

    private static SaveSummary Summary(SaveCommitted c) => new(c.Step, c.Files, c.Bytes);

    private IReadOnlyList<RoundDecision<TRef>> Abort(SaveRound<TRef> round, string reason)
    {
        round.AbortReason = reason;
        var decisions = new List<RoundDecision<TRef>>
        {
            new RoundDecision<TRef>.CancelDeadline(round.Step),
            new RoundDecision<TRef>.AbortStep(round.Step, round.SaveId, reason, round.ShardList, Journal: true),
        };
        if (!round.Writing || round.AllReported) decisions.AddRange(End(round, removeDebris: round.Writing && round.LostRanks.Count == 0));
        else decisions.Add(new RoundDecision<TRef>.StartDeadline(round.Step, RoundDeadline.Writes, settings.WritesDeadline(round.Choice.Round)));
        return decisions;
    }

    /// <summary>An aborted round whose last rank is accounted for: its write deadline is cancelled, and it ends.</summary>
    private RoundDecision<TRef>[] CancelAndEnd(SaveRound<TRef> round, bool removeDebris) =>
        [new RoundDecision<TRef>.CancelDeadline(round.Step), .. End(round, removeDebris)];

    /// <summary>Drops an aborted round, remembering it so that its late plans are refused.</summary>
    private IReadOnlyList<RoundDecision<TRef>> End(SaveRound<TRef> round, bool removeDebris)
    {
        _rounds.Remove(round.Step);
        // Late plans of this attempt are refused; so are those of a next attempt a rank cancelled.
        var late = round.MissingPlans.Except(round.NoPlanComing);
        if (round.NextAttemptCancelled is { } cancelled) Bury(round.Step, cancelled.Reason, cancelled.Late.Union(late), cancelled: true);
        else Bury(round.Step, round.AbortReason!, late, answered: round.Plans.Values);
        return new[] { new RoundDecision<TRef>.EndRound(round.Step, removeDebris, round.NextAttempt.ToArray(), round.Choice.Round,
            round.Copies.Select(c => c.File.FileName).Distinct().ToArray()) };
    }

    private void Bury(long step, string reason, IEnumerable<int> late, bool cancelled = false, IEnumerable<SubmitLocalPlan>? answered = null)
    {
        if (!_aborted.ContainsKey(step)) _abortedOrder.Enqueue(step);
        var plans = answered?.ToArray() ?? [];
        _aborted[step] = new Tombstone(reason, late.ToHashSet(), cancelled, plans.Select(p => p.Plan.Rank).ToHashSet(), plans.Select(p => p.Attempt).Where(a => a != Guid.Empty).ToHashSet());
        while (_abortedOrder.Count > AbortedStepsRemembered) _aborted.Remove(_abortedOrder.Dequeue());
    }

    /// <summary>What is remembered of an aborted attempt at a step.</summary>
    /// <param name="Reason">Why it was aborted: what a late plan of it is refused with.</param>
    /// <param name="Late">Ranks that had not sent their plan: each one's is refused once when it comes.</param>
    /// <param name="Cancelled">An attempt a rank cancelled, or could not stage, before it began, rather than an aborted round.</param>
    /// <param name="Answered">Ranks whose plans of the attempt were answered with its abort (a late cancel of theirs is of that attempt).</param>
    /// <param name="Attempts">Those plans' attempts: a copy of one re-sent before the answer came starts nothing.</param>
    private sealed record Tombstone(string Reason, HashSet<int> Late, bool Cancelled, HashSet<int> Answered, HashSet<Guid> Attempts);
}

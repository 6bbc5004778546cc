namespace ActorCkpt;

/// <summary>
/// One rank's save once its buffers are laid out (the copy into them may still run: writing
/// overlaps staging), as a state machine: each event in returns the
/// <see cref="ShardSaveDecision{TActor}"/>s to carry out, in order, and the shard actor only
/// carries them out. The life of a save:
/// <list type="number">
/// <item><see cref="Start"/>: the plan goes to the planner, and again every resend interval until a
/// planner accepts it (<see cref="PlanAccepted"/>; that planner is watched: its loss fails the save).</item>
/// <item><see cref="WritesAssigned"/>: the files go to their writers, except a file holding an item
/// this rank did not stage (it fails at once). Only the file's current writer is heard.</item>
/// <item>A writer lost (<see cref="ActorLost"/>) before the verdict: the planner is asked for another
/// (<see cref="WriteReassigned"/>), and asked again when the new one is known lost too.</item>
/// <item>Once every write is answered, the outcome is reported to the planner.</item>
/// <item>The verdict: committed, aborted, the planner lost, this node out of its cluster, the verdict deadline, and for a save
/// whose caller cancelled it, the abort it asked for ends it as cancelled, any other as failed; the
/// caller of a cancelled save whose plan no planner took hears it cancelled after a grace (<see cref="CancelGraceOver"/>).</item>
/// <item>The buffers go back only when no write and no stream can read them any more; a save in
/// place holds a failure or cancellation until then (its caller's tensors are what writers read).
/// Writes still unanswered when the abandon deadline passes leave their buffers behind, and the
/// save is over; their late answers (<see cref="LateWriteEnded"/>, <see cref="LateResendAsked"/>,
/// <see cref="LateWriterLost"/>, <see cref="LateStreamClosed"/>, <see cref="LateStagingOver"/>) give
/// the buffers back once the last of them came, if it ever does.</item>
/// <item>While the state is still being copied (<see cref="Staging"/>, until <see cref="StagingOver"/>),
/// the buffers stay and any verdict is held: the copy still reads the caller's tensors.</item>
/// </list>
/// Events for another step or attempt, and every event once the save is over, change nothing.
/// </summary>
/// <typeparam name="TActor">Who: a planner or a writer (an actor reference in the actor, a string in the specs).</typeparam>
internal sealed class ShardSave<TActor> where TActor : class
{
    private static readonly ShardSaveDecision<TActor>[] Nothing = [];
    private readonly int _rank;
    private readonly Func<TActor, string> _name;
    private readonly Dictionary<string, FileAssignment<TActor>> _outstanding = new(StringComparer.Ordinal);
    private readonly HashSet<TActor> _lost = new();
    private readonly List<FileWriteResult> _results = new();
    private readonly List<ReplicaAck> _copies = new();
    private readonly List<string> _failures = new();
    private ShardSaveDecision<TActor>? _heldVerdict;
    private bool _cancelSent;
    private bool _graceOver;
    private bool _over;

    /// <summary>
    /// The save of <paramref name="step"/> by <paramref name="rank"/>, staged as <paramref name="staged"/>;
    /// <paramref name="inPlace"/> when writers read the caller's own tensors. <paramref name="name"/>
    /// names an actor in failure reasons (its ToString when null). <paramref name="staging"/> when
    /// the copy into the buffers still runs (<see cref="StagingOver"/> says when it is over).
    /// <paramref name="tier"/> is the tier the save asks the planner for.
    /// </summary>
    public ShardSave(long step, int rank, StagedState staged, bool inPlace, Func<TActor, string>? name = null, bool staging = false, SaveTier tier = SaveTier.Policy)
    {
        Staging = staging;
        Step = step;
        _rank = rank;
        Staged = staged;
        InPlace = inPlace;
        _name = name ?? (a => a.ToString() ?? "");
        Submission = SubmitLocalPlan.Of(step, staged.Plan, tier);
    }

    /// <summary>The step.</summary>
    public long Step { get; }

    /// <summary>The staged buffers and local plan.</summary>
    public StagedState Staged { get; }

    /// <summary>True when writers read the caller's tensors where they are (no staged copy).</summary>
    public bool InPlace { get; }

    /// <summary>The message that submits the local plan.</summary>
    public SubmitLocalPlan Submission { get; }

    /// <summary>The planner's id of this attempt, once writes are assigned.</summary>
    public Guid? SaveId { get; private set; }

    /// <summary>Where the files go (the step directory, or the holders' memory), once writes are assigned.</summary>
    public StorageTier Tier { get; private set; }

    /// <summary>
    /// Positions of the rank's tensor items that the assigned files leave to other ranks (known
    /// once writes are assigned); remembered if the save commits, so the next one need not stage them.
    /// </summary>
    public int[]? WrittenElsewhere { get; private set; }

    /// <summary>The planner that accepted the plan (watched: its loss fails the save).</summary>
    public TActor? Planner { get; private set; }

    /// <summary>True once the save's fate is known (committed, aborted, planner lost, or out of time).</summary>
    public bool Decided { get; private set; }

    /// <summary>True while the state is being copied into the buffers (the caller's tensors are read).</summary>
    public bool Staging { get; private set; }

    /// <summary>True once nothing reads the buffers any more and they went back.</summary>
    public bool Released { get; private set; }

    /// <summary>
    /// True from the abandon deadline, which left the buffers to writes, streams or a copy still
    /// under way, until the last of them ended late and the buffers went back.
    /// </summary>
    public bool Abandoned { get; private set; }

    /// <summary>Files handed to writers and not answered yet.</summary>
    public int OutstandingWrites => _outstanding.Count;

    /// <summary>Streams to remote writers still reading the staged buffers.</summary>
    public int ActiveStreams { get; private set; }

    /// <summary>The staged save begins: its plan goes out until accepted, and the verdict deadline starts.</summary>
    public IReadOnlyList<ShardSaveDecision<TActor>> Start() =>
        [new ShardSaveDecision<TActor>.SendPlan(), new ShardSaveDecision<TActor>.ResendPlanPeriodically(), new ShardSaveDecision<TActor>.StartVerdictDeadline()];

    /// <summary><paramref name="planner"/> received the plan of <paramref name="step"/>: the first to say so is watched.</summary>
    public IReadOnlyList<ShardSaveDecision<TActor>> PlanAccepted(long step, TActor planner)
    {
        if (_over || step != Step || Planner is not null) return Nothing;
        Planner = planner;
        return [new ShardSaveDecision<TActor>.StopResendingPlan(), new ShardSaveDecision<TActor>.Watch(planner)];
    }

    /// <summary>The resend interval passed: the plan goes again until a planner accepts it.</summary>
    public IReadOnlyList<ShardSaveDecision<TActor>> PlanResendDue(long step) =>
        _over || step != Step || Planner is not null || Decided ? Nothing : [new ShardSaveDecision<TActor>.SendPlan()];

    /// <summary>
    /// The planner assigned this rank's <paramref name="files"/> for attempt <paramref name="saveId"/>
    /// (in a memory round, every copy of each, to <paramref name="tier"/>); only the first assignment counts.
    /// </summary>
    public IReadOnlyList<ShardSaveDecision<TActor>> WritesAssigned(long step, Guid saveId, IReadOnlyList<FileAssignment<TActor>> files, StorageTier tier = StorageTier.Disk)
    {
        if (_over || step != Step || SaveId is not null || Decided) return Nothing;
        SaveId = saveId;
        Tier = tier;
        // Its caller already heard it cancelled (the grace passed): nothing is written, and the round cannot commit.
        if (_graceOver)
        {
            _failures.Add($"rank {_rank}'s caller cancelled its save of step {Step} before a planner took it");
            return [new ShardSaveDecision<TActor>.StartVerdictDeadline(), Report()];
        }
        // The planner's write deadline starts about now, after its plan deadline and the planning:
        // the verdict deadline starts again, so that it never passes before the planner's own do.
        var decisions = new List<ShardSaveDecision<TActor>> { new ShardSaveDecision<TActor>.StartVerdictDeadline() };
        var unstaged = Staged.Plan.Unstaged.ToHashSet();
        var writable = new List<FileAssignment<TActor>>();
        foreach (var a in files)
        {
            // Only a planner that ignored the plan's unstaged items assigns one; writing it would
            // write bytes this rank does not have.
            if (a.File.Items.FirstOrDefault(i => unstaged.Contains(i.Index)) is { } missing)
            {
                _failures.Add($"'{a.Key}': rank {_rank} did not stage '{missing.Key}' {missing.Box} (a replica it left to another rank)");
                continue;
            }
            writable.Add(a);
            _outstanding[a.Key] = a;
            decisions.Add(new ShardSaveDecision<TActor>.Watch(a.Writer));
        }
        var written = files.SelectMany(a => a.File.Items).Select(i => i.Index).ToHashSet();
        WrittenElsewhere = Staged.Plan.Items.Where(i => i.Kind == WriteItemKind.Tensor && !written.Contains(i.Index)).Select(i => i.Index).ToArray();
        decisions.Add(new ShardSaveDecision<TActor>.SetBytesToWrite(writable.Sum(a => a.File.DataBytes)));
        decisions.AddRange(writable.Select(a => new ShardSaveDecision<TActor>.SendWrite(a, 1)));
        if (writable.Count == 0) decisions.Add(Report());
        return decisions;
    }

    /// <summary><paramref name="from"/> wrote copy <paramref name="replica"/> of <paramref name="result"/>'s file; heard only from that copy's current writer.</summary>
    public IReadOnlyList<ShardSaveDecision<TActor>> WriteSucceeded(Guid saveId, FileWriteResult result, TActor from, int replica = 0)
    {
        var key = FileAssignment<TActor>.KeyOf(result.FileName, replica);
        if (!IsCurrentWriter(saveId, key, from)) return Nothing;
        var decisions = new List<ShardSaveDecision<TActor>> { new ShardSaveDecision<TActor>.AddBytesWritten(_outstanding[key].File.DataBytes) };
        _outstanding.Remove(key);
        if (replica == 0) _results.Add(result);
        else _copies.Add(new ReplicaAck(result.FileName, replica, result));
        WriteAnswered(decisions);
        return decisions;
    }

    /// <summary><paramref name="from"/> gave up writing copy <paramref name="replica"/> of <paramref name="file"/>; heard only from that copy's current writer.</summary>
    public IReadOnlyList<ShardSaveDecision<TActor>> WriteFailed(Guid saveId, string file, int attempts, string cause, TActor from, int replica = 0)
    {
        var key = FileAssignment<TActor>.KeyOf(file, replica);
        if (!IsCurrentWriter(saveId, key, from)) return Nothing;
        var decisions = new List<ShardSaveDecision<TActor>>();
        _outstanding.Remove(key);
        _failures.Add($"'{key}' after {attempts} attempts: {cause}");
        WriteAnswered(decisions);
        return decisions;
    }

    /// <summary><paramref name="writer"/> tries copy <paramref name="replica"/> of <paramref name="file"/> again as attempt <paramref name="attempt"/>: its bytes go again, if it is still that copy's writer.</summary>
    public IReadOnlyList<ShardSaveDecision<TActor>> ResendAsked(Guid saveId, string file, TActor writer, int attempt, int replica = 0) =>
        IsCurrentWriter(saveId, FileAssignment<TActor>.KeyOf(file, replica), writer)
            ? [new ShardSaveDecision<TActor>.SendWrite(_outstanding[FileAssignment<TActor>.KeyOf(file, replica)], attempt)]
            : Nothing;

    /// <summary>The planner gave a file whose writer was lost to <paramref name="assignment"/>'s writer.</summary>
    public IReadOnlyList<ShardSaveDecision<TActor>> WriteReassigned(Guid saveId, FileAssignment<TActor> assignment)
    {
        var key = assignment.Key;
        if (_over || saveId != SaveId || !_outstanding.ContainsKey(key)) return Nothing;
        _outstanding[key] = assignment;
        // The planner had not heard of this loss yet: ask again.
        if (_lost.Contains(assignment.Writer)) return [new ShardSaveDecision<TActor>.AskReassignment(assignment.File.FileName, assignment.Writer, Planner, assignment.Replica)];
        return [new ShardSaveDecision<TActor>.Watch(assignment.Writer), new ShardSaveDecision<TActor>.SendWrite(assignment, 1)];
    }

    /// <summary>
    /// A remote writer starting attempt <paramref name="attempt"/> at <paramref name="file"/> asks
    /// for its bytes: a stream (pushed to <paramref name="endpoint"/> over the bulk channel, when it
    /// names one and the file has a grant), if it is the current writer of copy <paramref name="replica"/>.
    /// </summary>
    public IReadOnlyList<ShardSaveDecision<TActor>> StreamAsked(Guid saveId, string file, TActor writer, string? endpoint = null, int attempt = 1, int replica = 0)
    {
        if (_over || saveId != SaveId) return Nothing;
        var key = FileAssignment<TActor>.KeyOf(file, replica);
        if (!IsCurrentWriter(saveId, key, writer)) return [new ShardSaveDecision<TActor>.RefuseStream($"'{key}' is not this writer's to write any more")];
        // The stream's own termination (done, failed, cancelled, or never subscribed to within the
        // subscription timeout) says when the staged buffers are no longer read.
        ActiveStreams++;
        var assignment = _outstanding[key];
        return [new ShardSaveDecision<TActor>.OpenStream(assignment.File, endpoint, assignment.Grant, attempt)];
    }

    /// <summary>A stream of attempt <paramref name="saveId"/> terminated: it reads the buffers no more.</summary>
    public IReadOnlyList<ShardSaveDecision<TActor>> StreamClosed(Guid saveId)
    {
        if (_over || saveId != SaveId) return Nothing;
        var decisions = new List<ShardSaveDecision<TActor>>();
        ActiveStreams--;
        MaybeRelease(decisions);
        TryFinish(decisions);
        return decisions;
    }

    /// <summary>
    /// <paramref name="actor"/> stopped or its node left: the accepting planner (the save fails), or a
    /// writer (its files go to another). A planner lost while the node cuts saves off (<paramref name="cutOff"/>:
    /// a clustered host's shutdown stops the planner's singleton before the shard actors) fails the save
    /// with that reason, as the shard actor's own stop would.
    /// </summary>
    public IReadOnlyList<ShardSaveDecision<TActor>> ActorLost(TActor actor, string? cutOff = null)
    {
        if (_over) return Nothing;
        if (!Decided && EqualityComparer<TActor>.Default.Equals(actor, Planner))
        {
            if (cutOff is not null) return Fail(CutOff(cutOff));
            var why = $"the planner {_name(actor)} was lost";
            return [new ShardSaveDecision<TActor>.TellPlannerLost(why), .. Fail(why)];
        }
        _lost.Add(actor);
        var decisions = new List<ShardSaveDecision<TActor>>();
        if (Decided)
        {
            ReleaseIfDone(decisions);
            return decisions;
        }
        foreach (var a in _outstanding.Values.Where(a => EqualityComparer<TActor>.Default.Equals(a.Writer, actor)))
        {
            decisions.Add(new ShardSaveDecision<TActor>.Warn($"writer {_name(actor)} of '{a.Key}' was lost; asking for another"));
            decisions.Add(new ShardSaveDecision<TActor>.AskReassignment(a.File.FileName, actor, Planner, a.Replica));
        }
        return decisions;
    }

    /// <summary>
    /// The copy into the buffers is over (done, or failed: then the writers waiting for its items
    /// fail their files, and the round aborts): a verdict held for it is told, unless the save is in
    /// place and writers still read the caller's tensors; the buffers go back if nothing reads them.
    /// </summary>
    public IReadOnlyList<ShardSaveDecision<TActor>> StagingOver()
    {
        if (_over || !Staging) return Nothing;
        Staging = false;
        var decisions = new List<ShardSaveDecision<TActor>>();
        if (!InPlace) DeliverHeldVerdict(decisions);
        // The cancel's grace passed while the copy ran (see CancelGraceOver).
        if (_graceOver && !Decided) decisions.Add(new ShardSaveDecision<TActor>.CompleteCancelled(SaveGoesOn: true));
        // Before the writes are assigned (and the save undecided), writers are still to read the buffers.
        if (Decided || SaveId is not null) MaybeRelease(decisions);
        TryFinish(decisions);
        return decisions;
    }

    /// <summary>The planner committed the step.</summary>
    public IReadOnlyList<ShardSaveDecision<TActor>> Committed(long step, SaveSummary summary)
    {
        if (_over || step != Step || Decided) return Nothing;
        var decisions = new List<ShardSaveDecision<TActor>>();
        if (WrittenElsewhere is { } others) decisions.Add(new ShardSaveDecision<TActor>.RememberWrittenElsewhere(others));
        // A rank whose files all went to others can hear the commit before its copy is over; in place, it
        // hears it once nothing reads its tensors (a push of a write since retried may still run).
        if ((InPlace && !Released) || Staging) _heldVerdict = new ShardSaveDecision<TActor>.CompleteCommitted(summary);
        else decisions.Add(new ShardSaveDecision<TActor>.CompleteCommitted(summary));
        Decide(decisions);
        return decisions;
    }

    /// <summary>The planner aborted the step for <paramref name="reason"/>.</summary>
    public IReadOnlyList<ShardSaveDecision<TActor>> Aborted(long step, string reason) =>
        _over || step != Step || Decided ? Nothing : Fail(reason);

    /// <summary>
    /// The caller cancelled the save: the planner is asked to abort it, and the save ends when the
    /// verdict comes (cancelled by that abort, or committed if the commit had begun). Ignored once decided.
    /// </summary>
    public IReadOnlyList<ShardSaveDecision<TActor>> CancelAsked()
    {
        if (_over || Decided) return Nothing;
        var first = !_cancelSent;
        _cancelSent = true;
        // No planner has taken the plan yet (none is up, or it is busy): if none does within the
        // grace, the caller hears the save cancelled then rather than at the verdict deadline.
        return first && Planner is null && SaveId is null
            ? [new ShardSaveDecision<TActor>.AskAbort(null), new ShardSaveDecision<TActor>.StartCancelGrace()]
            : [new ShardSaveDecision<TActor>.AskAbort(Planner)];
    }

    /// <summary>
    /// The cancel's grace passed with no planner having taken the plan: the caller hears the save
    /// cancelled now (once the copy into the buffers is over). The save itself goes on until a
    /// planner answers (or the verdict deadline): the answers to its plan and to its abort carry only
    /// the step, and must reach it rather than a retry of the step; and the plan is still re-sent,
    /// so that a planner that lost the abort (its node died) answers it too. Writes assigned to it
    /// from then on are refused (<see cref="WritesAssigned"/>), so no step commits with it after its
    /// caller heard it cancelled. Not for a save in place: its caller hears the verdict.
    /// </summary>
    public IReadOnlyList<ShardSaveDecision<TActor>> CancelGraceOver(long step)
    {
        if (_over || step != Step || Decided || Planner is not null || SaveId is not null || InPlace) return Nothing;
        _graceOver = true;
        return Staging ? Nothing : [new ShardSaveDecision<TActor>.CompleteCancelled(SaveGoesOn: true)];
    }

    /// <summary>No verdict came within <paramref name="waited"/>: the planner is gone, the save fails.</summary>
    public IReadOnlyList<ShardSaveDecision<TActor>> VerdictDeadlinePassed(long step, TimeSpan waited) =>
        _over || step != Step || Decided ? Nothing : Fail($"no verdict from the planner within {waited}");

    /// <summary>
    /// This node is no longer a member of its cluster (<paramref name="why"/>: the cluster downed it):
    /// no planner can reach this save any more, so it fails now rather than at its verdict deadline.
    /// The buffers still wait for the writes and streams under way.
    /// </summary>
    public IReadOnlyList<ShardSaveDecision<TActor>> NodeLeftCluster(string why) =>
        _over || Decided ? Nothing : Fail(CutOff(why));

    /// <summary>The save was decided a write timeout ago and writes or streams still have not finished: their buffers are left behind.</summary>
    public IReadOnlyList<ShardSaveDecision<TActor>> AbandonDue(long step)
    {
        if (_over || step != Step || !Decided) return Nothing;
        var decisions = new List<ShardSaveDecision<TActor>> { new ShardSaveDecision<TActor>.AbandonBuffers(_outstanding.Count, ActiveStreams) };
        Abandoned = true;
        DeliverHeldVerdict(decisions);
        _over = true;
        decisions.Add(new ShardSaveDecision<TActor>.Finished());
        return decisions;
    }

    /// <summary>After the abandon deadline, <paramref name="from"/> answered copy <paramref name="replica"/> of <paramref name="file"/> (written or failed): heard only from that copy's writer.</summary>
    public IReadOnlyList<ShardSaveDecision<TActor>> LateWriteEnded(Guid saveId, string file, TActor from, int replica = 0)
    {
        var key = FileAssignment<TActor>.KeyOf(file, replica);
        if (!Abandoned || saveId != SaveId || !_outstanding.TryGetValue(key, out var a) || !EqualityComparer<TActor>.Default.Equals(a.Writer, from)) return Nothing;
        _outstanding.Remove(key);
        return ReleaseAbandoned();
    }

    /// <summary>
    /// After the abandon deadline, <paramref name="writer"/> asks for the bytes of copy
    /// <paramref name="replica"/> of <paramref name="file"/> again: its attempt ended (it reads the
    /// buffers no more), and nothing is sent, so no other starts.
    /// </summary>
    public IReadOnlyList<ShardSaveDecision<TActor>> LateResendAsked(Guid saveId, string file, TActor writer, int replica = 0) =>
        LateWriteEnded(saveId, file, writer, replica);

    /// <summary>True while abandoned with a write of <paramref name="writer"/> unanswered.</summary>
    public bool AbandonedWith(TActor writer) => Abandoned && _outstanding.Values.Any(a => EqualityComparer<TActor>.Default.Equals(a.Writer, writer));

    /// <summary>After the abandon deadline, <paramref name="writer"/> stopped (or its node left): its writes read the buffers no more.</summary>
    public IReadOnlyList<ShardSaveDecision<TActor>> LateWriterLost(TActor writer)
    {
        if (!AbandonedWith(writer)) return Nothing;
        foreach (var key in _outstanding.Where(o => EqualityComparer<TActor>.Default.Equals(o.Value.Writer, writer)).Select(o => o.Key).ToList()) _outstanding.Remove(key);
        return ReleaseAbandoned();
    }

    /// <summary>After the abandon deadline, a stream of attempt <paramref name="saveId"/> terminated.</summary>
    public IReadOnlyList<ShardSaveDecision<TActor>> LateStreamClosed(Guid saveId)
    {
        if (!Abandoned || saveId != SaveId || ActiveStreams == 0) return Nothing;
        ActiveStreams--;
        return ReleaseAbandoned();
    }

    /// <summary>After the abandon deadline, the copy into the buffers ended.</summary>
    public IReadOnlyList<ShardSaveDecision<TActor>> LateStagingOver()
    {
        if (!Abandoned || !Staging) return Nothing;
        Staging = false;
        return ReleaseAbandoned();
    }

    /// <summary>The buffers of an abandoned save go back once nothing is left that could read or fill them.</summary>
    private IReadOnlyList<ShardSaveDecision<TActor>> ReleaseAbandoned()
    {
        if (_outstanding.Count > 0 || ActiveStreams > 0 || Staging) return Nothing;
        Abandoned = false;
        Released = true;
        return [new ShardSaveDecision<TActor>.ReleaseBuffers()];
    }

    /// <summary>
    /// The shard actor stopped: the buffers go back if nothing reads them, a held verdict is told,
    /// and a save not decided yet fails, saying why the node cut it off when it did (<paramref name="cutOff"/>).
    /// </summary>
    public IReadOnlyList<ShardSaveDecision<TActor>> Stopped(string? cutOff = null)
    {
        if (_over) return Nothing;
        _over = true;
        var decisions = new List<ShardSaveDecision<TActor>>();
        if (!Released && _outstanding.Count == 0 && ActiveStreams == 0 && !Staging) decisions.Add(new ShardSaveDecision<TActor>.ReleaseBuffers());
        DeliverHeldVerdict(decisions);
        if (!Decided)
            decisions.Add(new ShardSaveDecision<TActor>.CompleteFailed(cutOff is null ? $"the shard actor of rank {_rank} stopped" : CutOff(cutOff)));
        return decisions;
    }

    private static string CutOff(string why) => $"{why}; it was cut off before its verdict (the catalog tells whether it committed)";

    private bool IsCurrentWriter(Guid saveId, string file, TActor writer) =>
        !_over && saveId == SaveId && _outstanding.TryGetValue(file, out var a) && EqualityComparer<TActor>.Default.Equals(a.Writer, writer);

    private ShardSaveDecision<TActor>.Report Report() => new(SaveId!.Value, _results.ToArray(), _failures.ToArray(), Tier == StorageTier.Memory ? _copies.ToArray() : null);

    private List<ShardSaveDecision<TActor>> Fail(string reason)
    {
        var decisions = new List<ShardSaveDecision<TActor>> { new ShardSaveDecision<TActor>.ForgetReplicas() };
        // An abort for a cancellation (this rank's, or another's of a token the ranks share) ends a save
        // this rank's caller cancelled as cancelled; any other abort, as failed.
        ShardSaveDecision<TActor> verdict = _cancelSent && AbortSave.IsCancellation(reason, Step)
            ? new ShardSaveDecision<TActor>.CompleteCancelled()
            : new ShardSaveDecision<TActor>.CompleteFailed(reason);
        // Saved in place, the caller's own tensors are what writers read: it hears the verdict (and
        // may change or free them) only once no writer can read them any more; nor while the copy
        // into the buffers still reads them.
        if ((InPlace && !Released) || Staging) _heldVerdict = verdict;
        else decisions.Add(verdict);
        Decide(decisions);
        return decisions;
    }

    private void Decide(List<ShardSaveDecision<TActor>> decisions)
    {
        Decided = true;
        if (!ReleaseIfDone(decisions)) decisions.Add(new ShardSaveDecision<TActor>.StartAbandonDeadline());
    }

    /// <summary>
    /// Once the save is decided, stops waiting for files of lost writers (nobody will answer them),
    /// gives the buffers back when nothing can read them any more, and finishes then. True when it did.
    /// </summary>
    private bool ReleaseIfDone(List<ShardSaveDecision<TActor>> decisions)
    {
        var lost = _outstanding.Where(o => _lost.Contains(o.Value.Writer)).ToList();
        foreach (var (file, a) in lost)
        {
            _outstanding.Remove(file);
            _failures.Add($"'{file}': its writer {_name(a.Writer)} was lost");
        }
        // The planner waits for every rank's report before it lets an aborted attempt go.
        if (lost.Count > 0 && _outstanding.Count == 0) decisions.Add(Report());
        MaybeRelease(decisions);
        var done = Released;
        TryFinish(decisions);
        return done;
    }

    private void WriteAnswered(List<ShardSaveDecision<TActor>> decisions)
    {
        if (_outstanding.Count > 0) return;
        decisions.Add(Report());
        MaybeRelease(decisions);
        TryFinish(decisions);
    }

    private void MaybeRelease(List<ShardSaveDecision<TActor>> decisions)
    {
        if (Released || _outstanding.Count > 0 || ActiveStreams > 0 || Staging) return;
        Released = true;
        decisions.Add(new ShardSaveDecision<TActor>.ReleaseBuffers());
        DeliverHeldVerdict(decisions);
    }

    private void DeliverHeldVerdict(List<ShardSaveDecision<TActor>> decisions)
    {
        if (_heldVerdict is { } verdict) decisions.Add(verdict);
        _heldVerdict = null;
    }

    private void TryFinish(List<ShardSaveDecision<TActor>> decisions)
    {
        if (!Decided || !Released) return;
        _over = true;
        decisions.Add(new ShardSaveDecision<TActor>.Finished());
    }
}

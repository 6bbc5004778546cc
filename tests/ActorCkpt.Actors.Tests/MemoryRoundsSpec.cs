using D = ActorCkpt.RoundDecision<string>;
namespace ActorCkpt.Actors.Tests;

/// <summary>
/// Memory rounds of the planner's save rounds (pure, no actor system): actors are strings
/// "name@node", each node is its own host ("A" holds on host "hA"), and R = 2 unless said.
/// </summary>
public class MemoryRoundsSpec
{
    private const long Step = 5;
    private static readonly TimeSpan PlanTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan WriteTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan AckTimeout = TimeSpan.FromSeconds(7);
    private static readonly string[] Writers = ["wA@A", "wB@B", "wC@C"];

    private static SaveRounds<string> Rounds(int replicas = 2, bool enabled = true) =>
        new(new RoundSettings(PlanTimeout, WriteTimeout, new SavePlanSettings(FilesPerRank: 1, Placement: Placement.Spread),
            new TierPolicy(enabled, DiskEvery: 10), replicas, AckTimeout), a => a.Split('@')[1]);

    private static SubmitLocalPlan PlanOf(int rank, SaveTier tier = SaveTier.Policy) =>
        SubmitLocalPlan.Of(Step, new LocalSavePlan(rank, 2, new[]
        {
            WriteItem.ForTensor("w", rank, 0, DType.Float32, new long[] { 8, 4 }, new TensorBox(new long[] { 4 * rank, 0 }, new long[] { 4, 4 })),
        }), tier);

    private static string Shard(int rank) => $"s{rank}@{(rank == 0 ? "A" : "B")}";

    private static MemoryView<string> View(IReadOnlyList<string> writers, long budget = 1 << 20, params HeldStep[] held) => new(
        writers.GroupBy(w => "h" + w.Split('@')[1]).ToDictionary(g => g.Key, g => (IReadOnlyList<string>)g.ToArray()),
        node => writers.Any(w => w.EndsWith("@" + node)) ? "h" + node : null,
        held,
        new MemoryBudget(writers.Select(w => "h" + w.Split('@')[1]).Distinct().ToDictionary(h => h, _ => budget), KeepLast: 0, KeepPersisted: false));

    private static (SaveRounds<string> Rounds, SaveRound<string> Round, IReadOnlyList<D> Planned) Planned(int replicas = 2, MemoryView<string>? view = null)
    {
        var rounds = Rounds(replicas);
        rounds.Submit(PlanOf(0), Shard(0), haveWriters: true);
        rounds.Submit(PlanOf(1), Shard(1), haveWriters: true);
        var planned = rounds.Plan(Step, Writers, blocked: null, view ?? View(Writers));
        return (rounds, rounds[Step]!, planned);
    }

    private static FileWriteResult Result(string file, string checksum = "c") =>
        new(file, 100, new[] { new WrittenItem("w", new StoredBytes(file, 0, 64, 64, new ulong[] { 1 })) }, checksum);

    private static ReportWrites Report(SaveRound<string> round, int rank, string copyChecksum = "c", bool copies = true)
    {
        var file = round.Plan!.ForRank(rank).Single().FileName;
        return new ReportWrites(Step, round.SaveId, rank, new[] { Result(file) }, Array.Empty<string>(),
            copies ? round.Copies.Where(c => c.File.FileName == file && c.Replica > 0).Select(c => new ReplicaAck(file, c.Replica, Result(file, copyChecksum))).ToArray() : null);
    }

    private static string Show(D d) => d switch
    {
        D.AssignFiles a => $"assign {a.Shard} {a.Tier}: " + string.Join(", ", a.Files.Select(f => $"{f.File.FileName}#{f.Replica} by {f.Writer}")),
        D.AbortStep a => $"abort '{a.Reason}'",
        D.CommitMemoryStep c => $"commit memory {c.Step} persist {c.Persist}: " + string.Join(", ", c.Copies.Select(x => $"{x.File.FileName}#{x.Replica} on {x.Host}")),
        D.RecordStart r => $"record start tier {r.Tier}",
        D.EvictMemory e => $"evict {e.Victim}: {e.Reason}",
        _ => d.GetType().Name,
    };

    [Fact]
    public void A_memory_round_should_give_each_file_R_copies_on_distinct_hosts_own_host_first()
    {
        var (rounds, round, planned) = Planned();
        Assert.Equal(["CancelDeadline", "record start tier Memory"], planned.Select(Show));
        var (f0, f1) = (round.Pending!.Value.Plan.ForRank(0).Single().FileName, round.Pending!.Value.Plan.ForRank(1).Single().FileName);
        Assert.Equal(string.Join("\n",
        [
            $"assign s0@A Memory: {f0}#0 by wA@A, {f0}#1 by wB@B",
            // Files tile the ring: file 1's window starts one peer on from hB's first peer (hC), at hA.
            $"assign s1@B Memory: {f1}#0 by wB@B, {f1}#1 by wA@A",
            $"StartDeadline",
        ]), string.Join("\n", rounds.Started(Step).Select(Show)));
        Assert.All(round.Copies.GroupBy(c => c.File.FileName), g => Assert.Equal(2, g.Select(c => c.Host).Distinct().Count()));
    }

    [Fact]
    public void The_write_deadline_of_a_memory_round_should_be_the_acknowledgement_timeout()
    {
        var (rounds, _, _) = Planned();
        Assert.Equal(new D.StartDeadline(Step, RoundDeadline.Writes, AckTimeout), rounds.Started(Step).Last());
    }

    [Fact]
    public void A_memory_round_should_commit_only_when_every_copy_is_acknowledged_with_the_primary_bytes()
    {
        var (rounds, round, _) = Planned();
        rounds.Started(Step);
        Assert.Empty(rounds.Report(Report(round, 1)));
        var commit = rounds.Report(Report(round, 0));
        Assert.Equal(["CancelDeadline", $"commit memory {Step} persist False: " + string.Join(", ", round.Copies.Select(c => $"{c.File.FileName}#{c.Replica} on {c.Host}"))],
            commit.Select(Show));
        Assert.Equal(4, ((D.CommitMemoryStep)commit[1]).Copies.Count);
    }

    [Fact]
    public void The_catalog_should_record_each_file_with_its_holders_in_placement_order()
    {
        var (rounds, round, _) = Planned();
        rounds.Started(Step);
        var copies = MemoryAssignments.Recorded(round.Copies, "abcd");
        Assert.Equal(["hA", "hB"], copies.Hosts);
        var (f0, f1) = (round.Plan!.ForRank(0).Single().FileName, round.Plan!.ForRank(1).Single().FileName);
        Assert.Equal([new ShardHolders(f0, 0, [0, 1], []), new ShardHolders(f1, 1, [1, 0], [])], copies.Shards);
        Assert.Equal("abcd", copies.MetadataChecksum);
        Assert.True(copies.Loadable);
    }

    [Fact]
    public void A_copy_never_acknowledged_or_different_from_its_primary_should_abort_the_round_naming_it()
    {
        var (rounds, round, _) = Planned();
        rounds.Started(Step);
        rounds.Report(Report(round, 1));
        var file = round.Plan!.ForRank(0).Single().FileName;
        Assert.Contains($"abort 'copy 1 of '{file}' on host hB was not acknowledged'", rounds.Report(Report(round, 0, copies: false)).Select(Show));

        (rounds, round, _) = Planned();
        rounds.Started(Step);
        rounds.Report(Report(round, 1));
        file = round.Plan!.ForRank(0).Single().FileName;
        Assert.Contains($"abort 'copy 1 of '{file}' on host hB differs from the own host's copy: the safetensors header's checksum is x, expected c'",
            rounds.Report(Report(round, 0, copyChecksum: "x")).Select(Show));
    }

    [Fact]
    public void A_holder_that_never_answers_should_fail_the_round_at_the_acknowledgement_deadline_naming_the_hosts()
    {
        var (rounds, round, _) = Planned();
        rounds.Started(Step);
        rounds.Report(Report(round, 0));
        Assert.Equal("abort 'copies of ranks 1 were not all acknowledged within 00:00:07 (their holders: hA, hB)'", rounds.DeadlinePassed(Step, RoundDeadline.Writes).Select(Show).First());
    }

    [Fact]
    public void The_budget_should_evict_older_steps_before_the_start_or_refuse_the_round()
    {
        // Each host may hold 100 bytes; step 3 holds 64 on hA and hB, so step 5's 64-byte copies need it gone.
        var step3 = new HeldStep(3, Committed: true, Persisted: false, Pinned: false, new Dictionary<string, long> { ["hA"] = 64, ["hB"] = 64 });
        var step4 = new HeldStep(4, Committed: true, Persisted: false, Pinned: false, new Dictionary<string, long> { ["hC"] = 64 });
        var (_, _, planned) = Planned(view: View(Writers, budget: 130, step3, step4));
        Assert.Equal(["CancelDeadline", "evict 3: to make room for step 5", "record start tier Memory"], planned.Select(Show));

        // Only the newest committed step holds the room: it is never evicted, so the round is refused.
        var (_, _, refused) = Planned(view: View(Writers, budget: 100, step4 with { BytesByHost = new Dictionary<string, long> { ["hA"] = 64 } }));
        Assert.Single(refused.Select(Show), s => s.StartsWith("abort 'step 5 does not fit in the memory tier: ", StringComparison.Ordinal) && s.Contains("hA"));
        Assert.DoesNotContain(refused, d => d is D.RecordStart);
    }

    [Fact]
    public void Too_few_hosts_for_R_copies_should_abort_before_the_start_naming_both()
    {
        var (_, _, planned) = Planned(replicas: 4);
        Assert.Single(planned.Select(Show), s => s.StartsWith("abort 'replicas = 4 needs 4 hosts", StringComparison.Ordinal));
        Assert.DoesNotContain(planned, d => d is D.RecordStart);
    }

    [Fact]
    public void Ranks_asking_for_different_tiers_should_abort_the_round()
    {
        var rounds = Rounds();
        rounds.Submit(PlanOf(0, SaveTier.Memory), Shard(0), haveWriters: true);
        Assert.Contains("abort 'rank 1 asked for tier Disk and rank 0 for Memory: every rank of a save must ask for the same'",
            rounds.Submit(PlanOf(1, SaveTier.Disk), Shard(1), haveWriters: true).Select(Show));
    }

    [Fact]
    public void A_memory_save_with_the_tier_off_should_be_refused_naming_the_key_and_a_policy_save_go_to_disk()
    {
        var rounds = Rounds(enabled: false);
        rounds.Submit(PlanOf(0, SaveTier.Memory), Shard(0), haveWriters: true);
        rounds.Submit(PlanOf(1, SaveTier.Memory), Shard(1), haveWriters: true);
        Assert.Contains("abort 'a save to the memory tier (Memory) needs actorckpt.tiers.memory.enabled = on; it is off'", rounds.Plan(Step, Writers, null, View(Writers)).Select(Show));

        var policy = Rounds(enabled: false);
        policy.Submit(PlanOf(0), Shard(0), haveWriters: true);
        policy.Submit(PlanOf(1), Shard(1), haveWriters: true);
        Assert.Equal(["CancelDeadline", "record start tier Disk"], policy.Plan(Step, Writers, null, View(Writers)).Select(Show));
    }

    [Fact]
    public void A_memory_round_with_no_holder_registered_should_abort_saying_so()
    {
        var rounds = Rounds();
        rounds.Submit(PlanOf(0), Shard(0), haveWriters: true);
        rounds.Submit(PlanOf(1), Shard(1), haveWriters: true);
        Assert.Contains("abort 'step 5 goes to the memory tier, but no node holds memory replicas (none has registered its holder)'", rounds.Plan(Step, Writers, null, memory: null).Select(Show));
    }

    [Fact]
    public void A_lost_writer_of_a_copy_should_abort_the_round_naming_its_host()
    {
        var (rounds, round, _) = Planned();
        rounds.Started(Step);
        var file = round.Plan!.ForRank(1).Single().FileName;
        Assert.Equal($"abort 'the writer of copy 1 of '{file}' on host hA was lost (wA@A)'",
            rounds.Reassign(Step, round.SaveId, file, "wA@A", Shard(1), ["wB@B", "wC@C"], replica: 1).Select(Show).ElementAt(1));
    }

    [Fact]
    public void A_step_that_is_a_multiple_of_disk_every_should_commit_in_memory_then_persist()
    {
        var rounds = new SaveRounds<string>(new RoundSettings(PlanTimeout, WriteTimeout, new SavePlanSettings(FilesPerRank: 1, Placement: Placement.Spread),
            new TierPolicy(true, DiskEvery: 5), 2, AckTimeout), a => a.Split('@')[1]);
        rounds.Submit(PlanOf(0), Shard(0), haveWriters: true);
        rounds.Submit(PlanOf(1), Shard(1), haveWriters: true);
        rounds.Plan(Step, Writers, null, View(Writers));
        rounds.Started(Step);
        var round = rounds[Step]!;
        rounds.Report(Report(round, 0));
        Assert.True(Assert.IsType<D.CommitMemoryStep>(rounds.Report(Report(round, 1))[1]).Persist);
    }
}

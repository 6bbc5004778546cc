using System.Diagnostics;

namespace ActorCkpt.Cli.Tests;

/// <summary>
/// The crash harness's long schedule, run by tests/crash/run-long.sh (skipped unless
/// ACTORCKPT_CRASH_ROUNDS is set): round after round on one cluster (a planner node, two writer
/// nodes, two rank nodes), every kill point in the role that reaches it, then random faults at
/// random moments of a save (a node cut off in its network namespace, or, without namespaces, a
/// node killed by the harness). After each round the harness's checks (see
/// <see cref="ClusterCrashHarness.AssertRecoveredAsync"/>) and the verdicts the ranks heard against
/// the disk. One line per round and a summary go to ACTORCKPT_CRASH_REPORT (default: stderr).
/// </summary>
[Collection(ClusterCrashCollection.Name)]
public class ClusterCrashScheduleSpec
{
    private const int KeepLast = 3;

    /// <summary>
    /// Deadlines short enough that a save a fault stalls ends within the harness's guard, and long
    /// enough that a dead writer node is downed (about 7 s) and its files moved before the write
    /// deadline; retention on, so deletions are crashed too.
    /// </summary>
    private const string Hocon = """
        actorckpt.planner { plan-timeout = 10s, write-timeout = 20s }
        actorckpt.retention.keep-last = 3
        """;

    /// <summary>
    /// Each kill point in the role that reaches it, and whether the step it kills is committed once
    /// the killed node is back (a dead writer's files move to the other writer node).
    /// </summary>
    private static readonly (string Node, string Point, bool Commits)[] Kills =
    {
        ("rank-0", "staged", false),
        ("planner", "planned", false),
        ("writer-1", "file-written", true),
        ("planner", "all-written", false),
        ("planner", "metadata-written", false),
        ("planner", "renamed", true),
        ("planner", "journaled", true),
        ("planner", "tracker-moved", true),
        ("planner", "deleting", true),
    };

    private static readonly string[] Moments = { "before the save", "once the step's directory exists", "once a data file is begun" };

    [ScheduleFact]
    public async Task Every_kill_point_in_its_role_and_random_partitions_should_lose_nothing_committed()
    {
        var rounds = int.Parse(Environment.GetEnvironmentVariable("ACTORCKPT_CRASH_ROUNDS")!);
        var seed = int.TryParse(Environment.GetEnvironmentVariable("ACTORCKPT_CRASH_SEED"), out var s) ? s : Environment.TickCount & 0xFFFF;
        var random = new Random(seed);
        var isolated = NetworkNamespaces.Unavailable is null;
        Report($"crash schedule: {rounds} rounds, seed {seed}, {(isolated ? "partitions by network namespace" : "no partitions (" + NetworkNamespaces.Unavailable + "); harness kills instead")}");
        var clock = Stopwatch.StartNew();
        var outcomes = new Dictionary<string, int>();
        await using var h = await ClusterCrashHarness.StartAsync(new ClusterShape(WriterNodes: 2, RankNodes: 2, "spread", isolated, Hocon));
        var state = new Progress(h);
        var round = 0;
        try
        {
            // Enough committed steps for retention to delete one at every commit.
            for (var i = 0; i < KeepLast; i++) await state.CleanSaveAsync();
            for (round = 1; round <= rounds; round++)
            {
                var started = clock.Elapsed;
                // A cycle: every kill point, then a fault at a random moment for each kind of node.
                var slot = (round - 1) % (Kills.Length + 3);
                var line = slot < Kills.Length
                    ? await state.KillRoundAsync(Kills[slot].Node, Kills[slot].Point, Kills[slot].Commits)
                    : await state.MomentRoundAsync(PickNode(h, slot - Kills.Length, random), Moments[random.Next(Moments.Length)], isolated);
                var kind = line.Split(':')[0];
                outcomes[kind] = outcomes.GetValueOrDefault(kind) + 1;
                Report($"round {round}/{rounds} ({(clock.Elapsed - started).TotalSeconds:0.0} s): {line}; committed now [{string.Join(", ", state.Committed)}]");
            }
            Report($"summary: {rounds} rounds passed in {clock.Elapsed.TotalMinutes:0.0} min, seed {seed}: "
                + string.Join(", ", outcomes.OrderBy(o => o.Key).Select(o => $"{o.Value} {o.Key}")));
        }
        catch (Exception e)
        {
            Report($"summary: FAILED in round {round} of {rounds} after {clock.Elapsed.TotalMinutes:0.0} min, seed {seed}: {e.Message.Split('\n')[0]}");
            throw new Xunit.Sdk.XunitException($"round {round}, seed {seed}: {e.Message}\n{h.Outputs}");
        }
    }

    /// <summary>The planner (0), a writer node (1) or a rank node (2), the latter two at random.</summary>
    private static NodeProcess PickNode(ClusterCrashHarness h, int kind, Random random) => kind switch
    {
        0 => h.Planner,
        1 => h.Writers[random.Next(h.Writers.Count)],
        _ => h.Ranks[random.Next(h.Ranks.Count)],
    };

    private static void Report(string line)
    {
        if (Environment.GetEnvironmentVariable("ACTORCKPT_CRASH_REPORT") is { Length: > 0 } file) File.AppendAllText(file, line + "\n");
        else Console.Error.WriteLine(line);
    }

    /// <summary>What is committed so far, the digest of it, and the next step to save.</summary>
    private sealed class Progress(ClusterCrashHarness h)
    {
        private IReadOnlyDictionary<long, StepOnDiskDigest> _digest = new Dictionary<long, StepOnDiskDigest>();
        private long _step;

        public IReadOnlyList<long> Committed { get; private set; } = Array.Empty<long>();

        public async Task CleanSaveAsync()
        {
            var step = ++_step;
            var run = await h.SaveAsync(step);
            Assert.True(run.Committed, $"clean save of step {step}: {string.Join("; ", run.Errors)}");
            Committed = Retain(Committed.Append(step));
            _digest = (await h.AssertAgreesAsync(Committed, Kept(_digest), $"clean save of step {step}")).Digest;
        }

        /// <summary>Restarts <paramref name="name"/> to die at <paramref name="point"/> of the next save, saves, restarts it, checks.</summary>
        public async Task<string> KillRoundAsync(string name, string point, bool commits)
        {
            var node = h.Nodes.Single(n => n.Name == name);
            var step = ++_step;
            // Retention deletes the oldest committed step when this one commits: that is the step whose deletion dies.
            var killStep = point == "deleting" ? Committed[0] : step;
            await h.RestartAsync(node, (point, killStep));
            var save = h.SaveAsync(step);
            await node.AssertKilledAtAsync(point, killStep, ClusterCrashHarness.Guard);
            var run = await save;
            await h.RestartAsync(node);
            var onDisk = h.CommittedOnDisk().Contains(step);
            Assert.True(onDisk == commits, $"kill of {name} at '{point}': step {step} is {(onDisk ? "" : "not ")}committed on disk");
            AssertVerdictsTrue(run, onDisk);
            await RecoverAsync(step, commits, $"{name} killed at '{point}' of step {killStep}");
            return $"kill: {name} at '{point}' of step {killStep}: step {step} {(commits ? "committed" : "not committed")} ({Verdicts(run)}), next save committed, loads bit-exact";
        }

        /// <summary>Cuts off (or, without namespaces, kills) <paramref name="node"/> at <paramref name="moment"/> of the next save; heals, restarts what went down, checks.</summary>
        public async Task<string> MomentRoundAsync(NodeProcess node, string moment, bool isolated)
        {
            var step = ++_step;
            var index = h.IndexOf(node);
            async Task Fault()
            {
                if (isolated) h.Net!.Cut(index);
                else await node.KillAsync();
                h.Note($"{(isolated ? "cut" : "killed")} {node.Name} {moment}");
            }
            if (moment == Moments[0]) await Fault();
            var save = h.SaveAsync(step);
            if (moment != Moments[0])
            {
                var dir = Path.Combine(h.Root, CheckpointLayout.StepDirectory(step));
                Func<bool> reached = moment == Moments[1] ? () => Directory.Exists(dir) : () => Directory.Exists(dir) && Directory.GetFiles(dir, "*.safetensors*").Length > 0;
                while (!reached() && !save.IsCompleted) await Task.Delay(10);
                await Fault();
            }
            var run = await save;
            var restarted = false;
            if (isolated)
            {
                h.Net!.Heal(index);
                restarted = await h.SettleAsync(node);
            }
            else
            {
                await h.RestartAsync(node);
                restarted = true;
            }
            var onDisk = h.CommittedOnDisk().Contains(step);
            AssertVerdictsTrue(run, onDisk);
            await RecoverAsync(step, onDisk, $"{node.Name} {(isolated ? "cut off" : "killed")} {moment} of step {step}");
            return $"{(isolated ? "cut" : "harness kill")}: {node.Name} {moment} of step {step}: step {step} {(onDisk ? "committed" : "not committed")} ({Verdicts(run)}){(restarted ? ", node restarted" : ", node came back")}, next save committed, loads bit-exact";
        }

        private async Task RecoverAsync(long step, bool committed, string what)
        {
            var expected = committed ? Retain(Committed.Append(step)) : Committed;
            var next = ++_step;
            _digest = await h.AssertRecoveredAsync(expected, Kept(_digest, expected), next, leftovers: null, what, KeepLast);
            Committed = Retain(expected.Append(next));
        }

        private IReadOnlyDictionary<long, StepOnDiskDigest> Kept(IReadOnlyDictionary<long, StepOnDiskDigest> digest, IReadOnlyList<long>? committed = null) =>
            digest.Where(d => (committed ?? Committed).Contains(d.Key)).ToDictionary();

        private static IReadOnlyList<long> Retain(IEnumerable<long> steps) => steps.TakeLast(KeepLast).ToArray();
    }

    /// <summary>
    /// What the ranks heard must be true: a rank told "committed" means the step is on disk; a rank
    /// told the planner aborted it means it is not. Only a rank that lost its planner, or its node,
    /// cannot know.
    /// </summary>
    private static void AssertVerdictsTrue(SaveRun run, bool onDisk)
    {
        foreach (var verdict in run.Errors)
        {
            var unknown = verdict is ClusterCrashHarness.NodeDied || (verdict?.Contains("the planner ") == true && verdict.EndsWith(" was lost"))
                || verdict?.Contains("no verdict from the planner") == true;
            if (verdict is null) Assert.True(onDisk, $"a rank heard step {run.Step} committed, but its metadata is not on disk");
            else if (!unknown) Assert.False(onDisk, $"a rank heard the save of step {run.Step} fail ({verdict}), but it is committed on disk");
        }
    }

    /// <summary>What each rank heard, short: one text when all heard the same.</summary>
    private static string Verdicts(SaveRun run)
    {
        var heard = run.Errors.Select(e => e?.Replace($"save of step {run.Step} failed: ", "").Replace("akka.tcp://actorckpt@", "") ?? "committed").ToArray();
        return heard.Distinct().Count() == 1 ? $"ranks heard: {heard[0]}" : string.Join("; ", heard.Select((e, i) => $"rank {i}: {e}"));
    }
}

/// <summary>The long schedule: runs only when ACTORCKPT_CRASH_ROUNDS is set (tests/crash/run-long.sh sets it).</summary>
internal sealed class ScheduleFactAttribute : FactAttribute
{
    public ScheduleFactAttribute()
    {
        if (!int.TryParse(Environment.GetEnvironmentVariable("ACTORCKPT_CRASH_ROUNDS"), out var rounds) || rounds < 1)
            Skip = "the long crash schedule runs from tests/crash/run-long.sh (ACTORCKPT_CRASH_ROUNDS not set)";
    }
}

using System.Text.Json;

namespace ActorCkpt.Cli.Tests;

/// <summary>
/// The memory tier's acceptance runs (docs/memory-tier.md §6, <c>MemoryTierProcessSpec</c>):
/// <c>actorckpt demo --nodes 3 --tier memory</c> over real node processes, each a host of its own,
/// nodes killed and restarted, and the newest loadable step loaded and checked bit-exact. Replicas
/// go to a tmpfs directory of the spec's own, removed at the end. xUnit runs a class's tests one after
/// another, and these take 30-60 s each while the cores mostly wait on the clusters' timers: the runs
/// are split into the nested classes below, which run beside each other and the rest of the suite.
/// </summary>
public abstract class MemoryTierProcessSpec : IDisposable
{
    /// <summary>One demo run: three processes up, saves, a kill, detection, restart, a load and the leave, on two busy cores.</summary>
    private static readonly TimeSpan RunGuard = TimeSpan.FromMinutes(4);

    private readonly TempDirectory _temp = new();
    private readonly TempDirectory _diskReplicas = new();
    private readonly string _shm = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), "actorckpt-demo-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        GC.SuppressFinalize(this);
        _temp.Dispose();
        _diskReplicas.Dispose();
        if (Directory.Exists(_shm)) Directory.Delete(_shm, recursive: true);
    }

    private protected string Root => _temp.Path;

    private protected string DiskReplicas => _diskReplicas.Path;

    private protected async Task<(int Exit, string Out, JsonElement Report)> Demo(params string[] flags)
    {
        var (exit, stdout, stderr) = await ToolRun.RunAsync(RunGuard, new[]
        {
            "demo", "--dir", Root, "--nodes", "3", "--tier", "memory", "--ranks", "3", "--size-mb", "2", "--tensors", "8", "--json",
        }.Concat(flags.Contains("--replicas-dir") ? [] : ["--replicas-dir", _shm]).Concat(flags).ToArray());
        var last = stdout.TrimEnd().Split('\n')[^1];
        Assert.True(last.StartsWith('{'), $"no JSON report (exit {exit}):\n{stdout}\n{stderr}");
        return (exit, stdout + stderr, JsonDocument.Parse(last).RootElement);
    }

    /// <summary>Loss of nodes with their tmpfs.</summary>
    public sealed class NodesLost : MemoryTierProcessSpec
    {
        [Fact]
        public async Task With_two_replicas_the_newest_step_should_load_from_memory_after_a_node_and_its_tmpfs_are_lost()
        {
            var (exit, output, report) = await Demo("--replicas", "2", "--steps", "3", "--kill-node", "1");

            Assert.True(exit == 0, output);
            Assert.Equal("memory", report.GetProperty("recovered_from").GetString());
            Assert.Equal(3, report.GetProperty("loaded_step").GetInt64());
            Assert.True(report.GetProperty("bit_exact").GetBoolean());
            Assert.Equal(JsonValueKind.Null, report.GetProperty("fallback").ValueKind);
            Assert.Equal("--kill-node 1", report.GetProperty("kill").GetString());
            // node-1's copies went with its tmpfs and nothing put them back: its ranks read every byte from peers.
            Assert.Equal(0, report.GetProperty("tmpfs_used_bytes_by_host").GetProperty("node-1").GetInt64());
            Assert.True(report.GetProperty("bytes_from_peers_by_node").GetProperty("node-1").GetInt64() > 0, output);
        }
    }

    /// <summary>A step whose copies were lost, and the disk step before it.</summary>
    public sealed class FallBackToDisk : MemoryTierProcessSpec
    {
        [Fact]
        public async Task With_one_replica_the_load_should_fall_back_to_the_newest_disk_step_and_say_why()
        {
            var (exit, output, report) = await Demo("--replicas", "1", "--steps", "3", "--disk-every", "2", "--kill-node", "1");

            // Step 2, a multiple of --disk-every, was persisted in the background; step 3's copies of rank 2 were only on node-1.
            Assert.True(exit == 0, output);
            // The run waited for the persist before it killed anything (before, the kill raced it, and the report listed step 2 in memory only).
            var step2 = report.GetProperty("saved_steps").EnumerateArray().Single(s => s.GetProperty("step").GetInt64() == 2);
            Assert.Contains("disk", step2.GetProperty("tiers").EnumerateArray().Select(t => t.GetString()));
            Assert.Equal(("disk", 2L), (report.GetProperty("recovered_from").GetString(), report.GetProperty("loaded_step").GetInt64()));
            Assert.True(report.GetProperty("bit_exact").GetBoolean());
            var fallback = report.GetProperty("fallback").GetString()!;
            Assert.Contains("step 3 cannot be loaded", fallback);
            Assert.Contains("held only on node-1 (lost)", fallback);
            Assert.Contains(fallback, output);
        }
    }

    /// <summary>Processes restarted with their tmpfs kept, one and all, and the tool on what they left.</summary>
    public sealed class ProcessesRestarted : MemoryTierProcessSpec
    {
        [Fact]
        public async Task Restarted_processes_should_load_from_their_own_tmpfs_and_a_whole_cluster_restart_from_memory()
        {
            // Every host holds every copy: a restarted process that found its own copies reads nothing from peers.
            var (exit, output, report) = await Demo("--replicas", "3", "--steps", "2", "--kill-process", "1");

            Assert.True(exit == 0, output);
            Assert.Equal(("memory", 2L), (report.GetProperty("recovered_from").GetString(), report.GetProperty("loaded_step").GetInt64()));
            Assert.True(report.GetProperty("bit_exact").GetBoolean());
            Assert.All(report.GetProperty("bytes_from_peers_by_node").EnumerateObject(), n => Assert.True(n.Value.GetInt64() == 0, $"{n.Name}: {n.Value}\n{output}"));

            // The same root again (steps 3 and 4), then all three processes at once.
            (exit, output, report) = await Demo("--replicas", "3", "--steps", "2", "--kill-process", "0,1,2");

            Assert.True(exit == 0, output);
            Assert.Equal(("memory", 4L), (report.GetProperty("recovered_from").GetString(), report.GetProperty("loaded_step").GetInt64()));
            Assert.True(report.GetProperty("bit_exact").GetBoolean());
            Assert.Equal(0, report.GetProperty("bytes_from_peers").GetInt64());

            // With every process gone, `ls` still lists the memory steps the tmpfs kept, held by all three hosts and loadable.
            var (lsExit, lsOut, lsErr) = await ToolRun.RunAsync(RunGuard, "ls", Root, "--json");
            Assert.True(lsExit == 0, lsOut + lsErr);
            var listed = JsonDocument.Parse(lsOut.TrimEnd().Split('\n')[^1]).RootElement.GetProperty("checkpoints").EnumerateArray()
                .Where(c => c.GetProperty("step").GetInt64() == 4).Single();
            Assert.Equal(["memory"], listed.GetProperty("tiers").EnumerateArray().Select(t => t.GetString()));
            var memory = listed.GetProperty("memory");
            Assert.Equal(["node-0", "node-1", "node-2"], memory.GetProperty("hosts").EnumerateArray().Select(h => h.GetString()));
            Assert.True(memory.GetProperty("loadable").GetBoolean(), lsOut);

            // The commands that read steps on disk say that these are in the memory tier only, in one line.
            var (inspectExit, _, inspectErr) = await ToolRun.RunAsync(RunGuard, "inspect", Root, "--step", "4");
            Assert.Equal((1, $"actorckpt: step 4 is in the memory tier only, its bytes in the hosts' replicas, not under '{Root}': " +
                             "this command reads steps on disk; `actorckpt ls` lists its holders"), (inspectExit, inspectErr.TrimEnd()));
            var (checkExit, _, checkErr) = await ToolRun.RunAsync(RunGuard, "demo", "--dir", Root, "--check");
            Assert.Equal(1, checkExit);
            // keep-last = 2: steps 1 and 2 left memory as 3 and 4 committed.
            Assert.Equal($"actorckpt: no committed checkpoint in {Root} on disk; 2 steps (3 to 4) are in the memory tier only (`actorckpt ls` lists their holders)",
                checkErr.TrimEnd());

            // A catalog rebuilt from disk does not admit memory steps, and loses none: their metadata is set aside whole,
            // with the old catalog. Before, the rebuild's planner deleted it, saying nothing.
            var memoryDir = Path.Combine(Root, CheckpointLayout.MemoryDirectory);
            var metadata = Directory.GetFiles(memoryDir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
                .Select(f => (Path.GetRelativePath(memoryDir, f), Convert.ToHexString(File.ReadAllBytes(f)))).ToArray();
            Assert.Contains(metadata, f => f.Item1.StartsWith(CheckpointLayout.StepDirectory(4), StringComparison.Ordinal));
            var (rebuildExit, rebuildOut, rebuildErr) = await ToolRun.RunAsync(RunGuard, "catalog", "rebuild", Root);
            Assert.True(rebuildExit == 0, rebuildOut + rebuildErr);
            var setAside = Assert.Single(Directory.GetDirectories(Root, CheckpointLayout.MemoryDirectory + ".replaced-*"));
            Assert.Equal($"memory steps 3, 4 not admitted: a catalog rebuilt from disk holds disk steps only (memory steps live in their holders' processes); " +
                         $"the memory tier's metadata is kept as {setAside}, with the old catalog", rebuildOut.Split('\n')[0]);
            Assert.Equal(metadata, Directory.GetFiles(setAside, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
                .Select(f => (Path.GetRelativePath(setAside, f), Convert.ToHexString(File.ReadAllBytes(f)))).ToArray());
        }
    }

    /// <summary>Every holder lost and no step on disk.</summary>
    public sealed class EveryHolderLost : MemoryTierProcessSpec
    {
        [Fact]
        public async Task With_every_node_and_its_tmpfs_lost_and_no_disk_step_the_load_should_fail_naming_the_hosts_once()
        {
            // Replicas outside tmpfs: the demo repeats the holders' warning, which only the nodes' logs had.
            var disk = DiskReplicas;
            var (exit, output, report) = await Demo("--replicas", "2", "--steps", "1", "--disk-every", "0", "--kill-node", "0,1,2", "--replicas-dir", disk);

            Assert.Equal(1, exit);
            var fs = MountedFileSystem.Of(Path.GetTempPath());
            if (fs.IsMemory) Assert.DoesNotContain("warning:", output);
            else Assert.Contains($"warning: '{disk}' is on {fs.Type}, not tmpfs: the memory tier's copies go through that file system at its speed", output);
            Assert.Equal(("none", false), (report.GetProperty("recovered_from").GetString(), report.GetProperty("bit_exact").GetBoolean()));
            // The driver resolves the step once for every rank, and each rank's load of it says why it cannot be.
            var why = "step 1 cannot be loaded: not loadable from memory: none of its 12 files has a holder left, " +
                      $"all were on node-0 (lost), node-1 (lost), node-2 (lost); not on disk in '{Root}'";
            Assert.Contains(Environment.NewLine + "actorckpt: no step loaded: " + why, Environment.NewLine + output);
        }
    }
}

using ActorCkpt.Cli.Demo;

namespace ActorCkpt.Cli.Tests;

/// <summary>
/// The memory demo runs with what its node processes run: a --config file's tier settings, which
/// come after the flags and override them, are the ones it reports and acts on (the replica
/// directory --kill-node removes, the copies per shard, the disk cadence); settings its nodes
/// could never save with are refused before any process starts; and a --config the driver's node
/// refuses leaves no file of the run behind.
/// </summary>
public sealed class MemoryDemoConfigSpec : IDisposable
{
    private readonly TempDirectory _temp = new();

    public MemoryDemoConfigSpec() => Directory.CreateDirectory(_temp.Path);

    public void Dispose() => _temp.Dispose();

    private static MemoryDemo Flags => new(Replicas: 2, DiskEvery: 10, Kill: [1], RemoveTmpfs: true, Directory: MemoryDemo.DefaultDirectory);

    [Fact]
    public void The_tier_settings_of_the_config_file_should_replace_the_flags_ones()
    {
        var configured = Flags.AsConfigured("actorckpt.tiers.memory { replicas = 3, directory = \"/dev/shm/elsewhere\" }\nactorckpt.tiers.disk.every = 1", nodes: 3);

        // Before: the demo reported 2 replicas and disk every 10, and --kill-node removed the flags' directory, where no replica was.
        Assert.Equal((3, 1L, "/dev/shm/elsewhere"), (configured.Replicas, configured.DiskEvery, configured.Directory));
        var flags = Flags;
        Assert.Same(flags, flags.AsConfigured(null, nodes: 3));
    }

    [Theory]
    [InlineData("actorckpt.tiers.memory.enabled = off", "--tier memory, but --config sets actorckpt.tiers.memory.enabled = off")]
    [InlineData("actorckpt.tiers.memory.replicas = 5", "--config sets actorckpt.tiers.memory.replicas = 5: more copies of a shard than 3 nodes can hold, each on a node of its own")]
    public void A_config_the_nodes_could_never_save_with_should_be_refused_before_any_node_starts(string hocon, string expected)
    {
        var config = Path.Combine(_temp.Path, "tier.conf");
        File.WriteAllText(config, hocon);
        var root = Path.Combine(_temp.Path, "root");

        // Before: the nodes started, and the demo failed after 80-140 s with a timeout that named neither.
        var (exit, _, err) = ToolRun.Run("demo", "--dir", root, "--nodes", "3", "--tier", "memory", "--size-mb", "1", "--tensors", "2", "--ranks", "3", "--config", config);

        Assert.Equal((1, $"actorckpt: {expected}{Environment.NewLine}"), (exit, err));
        Assert.False(Directory.Exists(root));
    }

    [Fact]
    public void A_config_the_driver_refuses_should_leave_no_node_configuration_file()
    {
        var config = Path.Combine(_temp.Path, "bad.conf");
        File.WriteAllText(config, "actorckpt.transfer.path = carrier-pigeon");
        var root = Path.Combine(_temp.Path, "root");

        var (exit, _, err) = ToolRun.Run("demo", "--dir", root, "--nodes", "3", "--size-mb", "1", "--tensors", "2", "--config", config);

        Assert.Equal((1, $"actorckpt: actorckpt.transfer.path = 'carrier-pigeon': expected one of channel, stream-refs{Environment.NewLine}"), (exit, err));
        // The run's node configuration names its root; before, one such file stayed in the temporary folder per run.
        Assert.DoesNotContain(Directory.EnumerateFiles(Path.GetTempPath(), "actorckpt-nodes-*.conf"), f => File.ReadAllText(f).Contains(root, StringComparison.Ordinal));
    }
}

namespace ActorCkpt.Actors.Tests;

/// <summary>The holder's warnings about where a host keeps its memory-tier copies.</summary>
public class ReplicaDirectoryCheckSpec : Akka.TestKit.Xunit2.TestKit
{
    private const long GiB = 1L << 30;

    [Fact]
    public void A_directory_on_a_disk_should_be_named_with_its_file_system_and_the_fix()
    {
        Assert.Equal(["'/data/replicas' is on ext4, not tmpfs: the memory tier's copies go through that file system at its speed; " +
                      "set actorckpt.tiers.memory.directory to a tmpfs directory such as /dev/shm/actorckpt"],
            ReplicaDirectoryCheck.Problems("/data/replicas", new MountedFileSystem("ext4", "/dev/vda", 100 * GiB), 12 * GiB));
    }

    [Fact]
    public void A_budget_over_the_tmpfs_size_should_be_named_and_one_within_it_pass()
    {
        var shm = new MountedFileSystem("tmpfs", "tmpfs", 24 * GiB);
        Assert.Equal([$"the budget of {100 * 1024 * GiB} bytes is more than the {24 * GiB} bytes of the tmpfs at '/dev/shm/x': once it is full, " +
                      "saves fail for room instead of evicting older steps; set actorckpt.tiers.memory.budget to at most its size, or a percentage such as 50%"],
            ReplicaDirectoryCheck.Problems("/dev/shm/x", shm, 100 * 1024 * GiB));
        Assert.Empty(ReplicaDirectoryCheck.Problems("/dev/shm/x", shm, 24 * GiB));
        Assert.Empty(ReplicaDirectoryCheck.Problems("/dev/shm/x", new MountedFileSystem("ramfs", "ramfs", 0), 100 * GiB));
        Assert.Empty(ReplicaDirectoryCheck.Problems("/x", new MountedFileSystem("unknown", ""), GiB));
    }

    [Fact]
    public async Task The_holder_should_warn_of_a_directory_on_a_disk_as_it_starts()
    {
        // Beside the test's build output, on the clone's disk.
        var dir = Path.Combine(AppContext.BaseDirectory, "replicas-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            Assert.False(MountedFileSystem.Of(dir) is { IsMemory: true } or { Type: "unknown" }, "this test needs its build output on a disk");
            var tier = MemoryTierSettings.Off with { Enabled = true, Directory = dir, Host = "h0", BudgetBytes = GiB };
            await EventFilter.Warning(contains: $"Replica holder of host 'h0': '{Path.Combine(dir, ReplicaLayout.Namespace("/ckpt"), "h0")}' is on ").ExpectOneAsync(() =>
            {
                Sys.ActorOf(ReplicaHolderActor.Props(new ReplicaStore(dir, ReplicaLayout.Namespace("/ckpt"), "h0"), tier, TestActor));
                ExpectMsg<HolderScanning>(TimeSpan.FromSeconds(60));
                ExpectMsg<RegisterHolder>(TimeSpan.FromSeconds(60));
            });
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

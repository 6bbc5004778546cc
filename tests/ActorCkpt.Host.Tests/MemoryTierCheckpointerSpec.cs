using TorchSharp;

namespace ActorCkpt.Host.Tests;

/// <summary>
/// The memory tier through the public API of a one-process checkpointer (one host, R = 1): a save
/// names its tier, the newest step is found across tiers, and a load says which tier it read.
/// </summary>
public sealed class MemoryTierCheckpointerSpec : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly string _shm = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), "actorckpt-host-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        _temp.Dispose();
        if (Directory.Exists(_shm)) Directory.Delete(_shm, recursive: true);
    }

    [Fact]
    public async Task A_save_to_memory_should_be_the_newest_step_and_load_from_memory_while_a_disk_save_loads_from_disk()
    {
        await using var ckpt = Checkpointer.Start(new CheckpointerOptions
        {
            Root = Path.Combine(_temp.Path, "ckpt"),
            Hocon = "akka.loglevel = WARNING",
            MemoryTier = new MemoryTierOptions { Enabled = true, Replicas = 1, Host = "h0", Directory = _shm, Budget = "1GiB", DiskEvery = 0 },
        });
        using var w1 = torch.arange(12, dtype: torch.float32).reshape(3, 4);
        using var w2 = w1 * 2;
        await ckpt.SaveAsync(1, new RankState(0, 1).AddReplicated("w", w1), SaveTier.Disk);
        var saved = await ckpt.SaveAsync(2, new RankState(0, 1).AddReplicated("w", w2), SaveTier.Memory);
        Assert.Equal(2, saved.Step);
        await AwaitAsync(async () => await ckpt.GetLatestStepAsync() == 2);

        using var loaded = torch.zeros(3, 4);
        var fromMemory = await ckpt.LoadAsync(new RankState(0, 1).AddReplicated("w", loaded));
        Assert.Equal((2L, StorageTier.Memory), (fromMemory.Step, fromMemory.Tier));
        Assert.Equal(w2.data<float>().ToArray(), loaded.data<float>().ToArray());

        var fromDisk = await ckpt.LoadAsync(new RankState(0, 1).AddReplicated("w", loaded), 1);
        Assert.Equal((1L, StorageTier.Disk), (fromDisk.Step, fromDisk.Tier));
        Assert.Equal(w1.data<float>().ToArray(), loaded.data<float>().ToArray());
        var catalog = await ckpt.ReadCatalogAsync();
        Assert.Equal([StorageTier.Disk, StorageTier.Memory], catalog.Select(e => e.Tier));
    }

    [Fact]
    public async Task Restarted_on_another_host_the_newest_step_should_be_the_disk_step_a_load_reads_not_the_memory_step_left_behind()
    {
        var root = Path.Combine(_temp.Path, "ckpt");
        CheckpointerOptions On(string host) => new()
        {
            Root = root,
            Hocon = "akka.loglevel = WARNING",
            // Each host its own tmpfs directory, as on two machines sharing the root.
            MemoryTier = new MemoryTierOptions { Enabled = true, Replicas = 1, Host = host, Directory = Path.Combine(_shm, host), Budget = "1GiB", DiskEvery = 0 },
            Settings = { ["tiers.memory.lost-after"] = "3s" },
        };
        using var w1 = torch.arange(12, dtype: torch.float32).reshape(3, 4);
        using var w2 = w1 * 2;
        await using (var first = Checkpointer.Start(On("h0")))
        {
            await first.SaveAsync(1, new RankState(0, 1).AddReplicated("w", w1), SaveTier.Disk);
            await first.SaveAsync(2, new RankState(0, 1).AddReplicated("w", w2), SaveTier.Memory);
        }

        // Step 2's only copy stays on h0, which never comes back: a load of the newest reads step 1,
        // and so must a job that asks for the newest step and loads it by number (train --resume).
        await using var second = Checkpointer.Start(On("h1"));
        var latest = await second.GetLatestStepAsync();
        Assert.Equal(1, latest);
        using var loaded = torch.zeros(3, 4);
        var result = await second.LoadAsync(new RankState(0, 1).AddReplicated("w", loaded), latest!.Value);
        Assert.Equal((1L, StorageTier.Disk), (result.Step, result.Tier));
        Assert.Equal(w1.data<float>().ToArray(), loaded.data<float>().ToArray());
    }

    /// <summary>The holder announces itself just after the start: waits, bounded, for what the planner says.</summary>
    private static async Task AwaitAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the condition did not hold within 60 s");
            await Task.Delay(10);
        }
    }
}

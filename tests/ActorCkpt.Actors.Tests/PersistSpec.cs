namespace ActorCkpt.Actors.Tests;

/// <summary>
/// Background persist on one host (R = 1, <c>tiers.disk.every = 2</c>): every second memory step is
/// written to disk from the host's copies and recorded on both tiers, its disk files equal to the
/// copies' payloads; the other steps stay in memory only.
/// </summary>
public sealed class PersistSpec : MemoryTierSpec
{
    [Fact]
    public async Task Every_second_step_should_end_on_both_tiers_with_disk_files_equal_to_its_copies()
    {
        var (system, node) = Process(extra: "actorckpt.tiers.disk.every = 2\nactorckpt.tiers.memory.keep-persisted = on");
        await HolderUp(system);
        await Save(node, 1);
        await Save(node, 2);

        await AwaitAssertAsync(async () => Assert.True((await Catalog(node)).Single(e => e.Step == 2).Persisted), Patience);
        var catalog = await Catalog(node);
        var step2 = catalog.Single(e => e.Step == 2);
        Assert.Equal((StorageTier.Memory, true, true), (step2.Tier, step2.OnDisk, step2.InMemory));
        Assert.Equal(CheckpointStore.Checksum(node.Store.ReadMetadataBytes(2)), step2.MetadataChecksum);
        Assert.False(catalog.Single(e => e.Step == 1).OnDisk);
        Assert.False(Directory.Exists(Path.Combine(Root, "step-00000001")));

        // Each disk file is its copy's payload, byte for byte.
        foreach (var copy in node.Replicas!.List().Held.Where(h => h.Step == 2))
        {
            var disk = File.ReadAllBytes(Path.Combine(Root, "step-00000002", copy.DataFile));
            var replica = File.ReadAllBytes(Directory.EnumerateFiles(Shm, copy.DataFile + ReplicaLayout.ReplicaSuffix, SearchOption.AllDirectories).Single());
            Assert.Equal(replica.AsSpan(replica.Length - disk.Length).ToArray(), disk);
        }

        var targets = TestStates.Empty(Model, 2);
        var results = await Task.WhenAll(targets.Select(t => node.LoadAsync(t, only: StorageTier.Disk))).WaitAsync(Patience);
        Assert.All(results, r => Assert.Equal((2L, StorageTier.Disk), (r.Step, r.Tier)));
        Assert.Empty(TestStates.Differences(Model, targets, seed: 2));
        TestStates.Dispose(targets);
    }

    [Fact]
    public async Task A_persisted_step_should_leave_memory_once_a_newer_memory_step_commits()
    {
        var (system, node) = Process(extra: "actorckpt.tiers.disk.every = 2");
        await HolderUp(system);
        await Save(node, 2);
        await AwaitAssertAsync(async () => Assert.True((await Catalog(node)).Single(e => e.Step == 2).Persisted), Patience);
        await Save(node, 3);

        await AwaitAssertAsync(async () =>
        {
            var step2 = (await Catalog(node)).Single(e => e.Step == 2);
            Assert.Equal((true, false), (step2.OnDisk, step2.InMemory));
            Assert.DoesNotContain(node.Replicas!.List().Held, h => h.Step == 2);
        }, Patience);
    }
}

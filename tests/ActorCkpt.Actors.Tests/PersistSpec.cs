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
    public async Task Files_a_holder_process_was_writing_to_disk_when_it_stopped_should_go_to_another_process_of_its_host()
    {
        BlockingBlobStore? blocking = null;
        var (system, node) = Process(extra: "actorckpt.tiers.disk.every = 2", store: s => blocking = new BlockingBlobStore(s, fromStep: 2));
        await HolderUp(system);
        var holder = await system.ActorSelection("/user/actorckpt-replicas").ResolveOne(Patience);
        // A second process of host h0, announced after the node's own holder: persists go to the first.
        var other = CreateTestProbe(system);
        node.Planner.Tell(new RegisterHolder("h0", other.Ref, 1L << 30, []), other.Ref);
        try
        {
            await Save(node, 2);
            await blocking!.Entered.WaitAsync(Patience);
            var files = (await Catalog(node)).Single(e => e.Step == 2).Memory!.Shards.Select(s => s.File).Order().ToArray();

            system.Stop(holder);

            // Every file of the step was sent to the stopped process, none yet written.
            var resent = files.Select(_ => other.ExpectMsg<PersistReplica>(Patience)).ToArray();
            Assert.All(resent, r => Assert.Equal(2, r.Step));
            Assert.Equal(files, resent.Select(r => r.Plan.FileName).Order());
        }
        finally
        {
            blocking!.Release();
        }
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

    [Fact]
    public async Task A_memory_step_due_for_the_object_tier_should_be_persisted_then_uploaded_and_load_from_the_tier()
    {
        var tier = Path.Combine(Root, "..", Path.GetFileName(Root) + "-tier");
        try
        {
            // Disk every 10 would persist nothing here: step 3 goes to disk because the object tier wants it.
            var (system, node) = Process(extra: $"actorckpt.tiers.disk.every = 10\nactorckpt.tiers.object {{ root = \"{tier}\", every = 3 }}");
            await HolderUp(system);
            for (var step = 1; step <= 3; step++) await Save(node, step);

            await node.WaitForUploadsAsync(Patience);
            var catalog = (await Catalog(node)).ToDictionary(e => e.Step);
            Assert.Equal((true, true, true), (catalog[3].Persisted, catalog[3].OnDisk, catalog[3].OnObject));
            Assert.Equal((false, false), (catalog[2].OnDisk, catalog[2].OnObject));
            Assert.Equal(new long[] { 3 }, new CheckpointStore(new LocalBlobStore(tier)).CommittedSteps());

            var targets = TestStates.Empty(Model, 2);
            var results = await Task.WhenAll(targets.Select(t => node.LoadAsync(t, 3, only: StorageTier.Object))).WaitAsync(Patience);
            Assert.All(results, r => Assert.Equal((3L, StorageTier.Object), (r.Step, r.Tier)));
            Assert.Empty(TestStates.Differences(Model, targets, seed: 3));
            TestStates.Dispose(targets);
        }
        finally
        {
            ScratchDirectory.Delete(tier);
        }
    }
}

using Akka.Actor;
using Akka.Configuration;

namespace ActorCkpt.Actors.Tests;

/// <summary>
/// Memory rounds on a node (one host, R = 1, the tier on, nothing persisted to disk): a save
/// commits in memory with its copies in the host's tmpfs store and its metadata under
/// <c>&lt;root&gt;/memory</c>, journaled with its holders; the budget evicts the oldest steps first
/// and refuses a step that cannot fit without evicting the newest committed one.
/// </summary>
public sealed class MemoryRoundSpec : MemoryTierSpec
{
    [Fact]
    public async Task A_save_should_commit_in_memory_with_its_copies_on_the_host_and_nothing_on_disk()
    {
        var (system, node) = Process();
        await HolderUp(system);
        var summary = await Save(node, 1);

        var entry = Assert.Single(await Catalog(node));
        Assert.Equal((CheckpointStatus.Committed, StorageTier.Memory, false), (entry.Status, entry.Tier, entry.Persisted));
        Assert.Equal(["h0"], entry.Memory!.Hosts);
        Assert.All(entry.Memory.Shards, s => Assert.Equal([0], s.Holders));
        Assert.Equal(entry.Files, entry.Memory.Shards.Count);
        Assert.Equal(entry.Memory.Shards.Select(s => s.File).Order(), node.Replicas!.List().Held.Where(h => h.Step == 1).Select(h => h.DataFile).Order());
        Assert.True(File.Exists(Path.Combine(Root, "memory", "step-00000001", "metadata.json")));
        Assert.False(Directory.Exists(Path.Combine(Root, "step-00000001")));
        Assert.Equal(entry.Memory.MetadataChecksum, new CheckpointStore(new PrefixedBlobStore(new LocalBlobStore(Root), "memory")).ReadMetadataWithChecksum(1).Checksum);
    }

    [Fact]
    public async Task The_budget_should_evict_the_oldest_steps_first_and_free_their_memory()
    {
        // One step's copies measured by a first process; the next has room for two and a half.
        var oneStep = await OneStepBytes();
        Assert.True(oneStep > 0);
        var (system, node) = Process(budget: oneStep * 5 / 2);
        await HolderUp(system);
        for (var step = 2; step <= 4; step++) await Save(node, step);

        await AwaitAssertAsync(async () =>
        {
            var held = (await Catalog(node)).Where(e => e.InMemory).Select(e => e.Step);
            Assert.Equal([3L, 4L], held);
            Assert.Equal([3L, 4L], node.Replicas!.List().Held.Select(h => h.Step).Distinct().Order());
            Assert.False(Directory.Exists(Path.Combine(Root, "memory", "step-00000001")));
            Assert.False(Directory.Exists(Path.Combine(Root, "memory", "step-00000002")));
        }, Patience);
        Assert.True(node.Replicas!.Usage().FileBytes <= oneStep * 2);
        var evicted = (await Catalog(node)).Single(e => e.Step == 1);
        Assert.True(evicted.Memory!.Evicted);
    }

    [Fact]
    public async Task Copies_marked_lost_should_no_longer_count_against_their_host_s_budget()
    {
        // Room for two and a half steps: step 1 (from a first process) and step 2 are held.
        var oneStep = await OneStepBytes();
        var (system, node) = Process(budget: oneStep * 5 / 2);
        await HolderUp(system);
        await Save(node, 2);
        // Every copy of step 2 is refused by a load (a bad checksum): journaled lost, and dropped.
        foreach (var shard in (await Catalog(node)).Single(e => e.Step == 2).Memory!.Shards)
            node.Planner.Tell(new ReplicaRefused(2, shard.File, "h0", "checksum mismatch in block 0"));
        await AwaitAssertAsync(async () => Assert.All((await Catalog(node)).Single(e => e.Step == 2).Memory!.Shards, s => Assert.Equal([0], s.Lost)), Patience);

        await Save(node, 3);

        // Steps 1 and 3 take two steps' room: nothing had to go.
        var entries = await Catalog(node);
        Assert.True(entries.Single(e => e.Step == 1).InMemory);
        Assert.Equal([1L, 3L], node.Replicas!.List().Held.Select(h => h.Step).Distinct().Order());
    }

    [Fact]
    public async Task A_step_that_fits_only_by_evicting_the_newest_committed_one_should_be_refused_and_that_one_kept()
    {
        var oneStep = await OneStepBytes();
        var (system, node) = Process(budget: oneStep * 3 / 2);
        await HolderUp(system);
        var refused = await Assert.ThrowsAnyAsync<Exception>(() => Save(node, 2));
        Assert.Contains("does not fit in the memory tier", refused.Message);
        Assert.Contains("h0", refused.Message);
        Assert.Equal([1L], (await Catalog(node)).Where(e => e.InMemory).Select(e => e.Step));
        Assert.Equal([1L], node.Replicas!.List().Held.Select(h => h.Step).Distinct());
    }
}

using Akka.Actor;
using Akka.Configuration;

namespace ActorCkpt.Actors.Tests;

/// <summary>
/// Memory rounds on a node (one host, R = 1, the tier on, nothing persisted to disk): a save
/// commits in memory with its copies in the host's tmpfs store and its metadata under
/// <c>&lt;root&gt;/memory</c>, journaled with its holders; the budget evicts the oldest steps first
/// and refuses a step that cannot fit without evicting the newest committed one.
/// </summary>
public sealed class MemoryRoundSpec : NodeSpec
{
    private static readonly IReadOnlyList<(string Key, DType DType, Layout Layout, long Rows, long Cols)> Model =
        TestStates.Model(new[] { DType.Float32, DType.Int64 }, new[] { Layout.Rows, Layout.Replicated });

    private readonly string _shm = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), "actorckpt-memround-" + Guid.NewGuid().ToString("N"));

    private readonly List<ActorSystem> _processes = new();

    /// <summary>A process (its own actor system) with a node over <see cref="NodeSpec.Root"/>, the tier on with <paramref name="budget"/> bytes per host.</summary>
    private (ActorSystem System, CheckpointNode Node) Process(long budget = 1L << 30)
    {
        var system = ActorSystem.Create("proc", ActorCkptConfig.WithCatalog(ConfigurationFactory.ParseString($$"""
            actorckpt.tiers.memory { enabled = on, replicas = 1, directory = "{{_shm}}", host = h0, budget = {{budget}}, keep-last = 0 }
            actorckpt.tiers.disk.every = 0
            {{TestConfig}}
            """).WithFallback(ActorCkptConfig.Defaults), Root));
        _processes.Add(system);
        return (system, CheckpointNode.Start(system, new LocalBlobStore(Root)));
    }

    private static async Task<IReadOnlyList<CatalogEntry>> Catalog(CheckpointNode node) =>
        (await node.Planner.Ask<CatalogRead>(new ReadCatalog(), Patience)).Entries;

    private static async Task<SaveResult> Save(CheckpointNode node, long step)
    {
        var states = TestStates.Build(Model, 2, seed: (int)step);
        try
        {
            var handles = states.Select(s => node.Save(step, s)).ToArray();
            return (await Task.WhenAll(handles.Select(h => h.Committed)).WaitAsync(Patience))[0];
        }
        finally
        {
            TestStates.Dispose(states);
        }
    }

    /// <summary>Waits until the planner knows the host: a memory save before that would find no holder.</summary>
    private static async Task HolderUp(ActorSystem system)
    {
        var holder = await system.ActorSelection("/user/actorckpt-replicas").ResolveOne(Patience);
        await holder.Ask<ReplicaUsageReported>(new ReportReplicaUsage(), Patience);
    }

    /// <summary>The bytes one step's copies take in the store, from a first process that saves step 1 and ends.</summary>
    private async Task<long> OneStepBytes()
    {
        var (system, node) = Process();
        await HolderUp(system);
        await Save(node, 1);
        var bytes = node.Replicas!.Usage().FileBytes;
        await system.Terminate();
        return bytes;
    }

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

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            foreach (var system in _processes) system.Terminate().Wait(Patience);
        base.Dispose(disposing);
        if (disposing) ScratchDirectory.Delete(_shm);
    }
}

using ActorCkpt.Cli;

namespace ActorCkpt.Cli.Tests;

public class CatalogLineSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 4, 1, 0, 0, TimeSpan.Zero);
    private static readonly Guid A = Guid.NewGuid();

    private static CheckpointCatalog Memory(long step, params ICatalogEvent[] after)
    {
        var catalog = new CheckpointCatalog();
        catalog.Apply(new SaveStarted(step, A, 2, $"memory/step-{step:D8}", T0, StorageTier.Memory));
        catalog.Apply(new MemoryStepCommitted(step, A, 2, 4096, new MemoryCopies(
            new[] { "node-0", "node-1", "node-2" },
            new[] { new ShardHolders("r0.safetensors", 0, new[] { 0, 1 }, Array.Empty<int>()), new ShardHolders("r1.safetensors", 1, new[] { 1, 2 }, Array.Empty<int>()) },
            "00000000000000aa"), T0));
        foreach (var e in after) catalog.Apply(e);
        return catalog;
    }

    [Fact]
    public void A_disk_step_should_read_as_it_always_did()
    {
        var catalog = new CheckpointCatalog();
        catalog.Apply(new SaveStarted(3, A, 2, "step-00000003", T0));
        catalog.Apply(new SaveCommitted(3, A, "0000000000000001", 4, 300, T0));

        Assert.Equal("step 3: committed, 300 bytes in 4 files, 2026-12-04 01:00:00Z", CatalogLine.Of(catalog[3]!, null));
        Assert.Equal(new[] { "disk" }, CatalogLine.Tiers(catalog[3]!));
        Assert.Null(CatalogLine.Memory(catalog[3]!));
    }

    [Fact]
    public void A_memory_step_should_show_its_tiers_its_holders_what_was_lost_and_whether_it_still_loads_from_memory()
    {
        Assert.Equal("step 7: committed [memory], 4096 bytes in 2 files, 2026-12-04 01:00:00Z; holders: node-0, node-1, node-2 (2 per file); loadable from memory",
            CatalogLine.Of(Memory(7)[7]!, null));

        var lost = Memory(7, new ReplicasLost(7, "node-1", null, "node-1 left the cluster", T0), new ReplicasLost(7, "node-2", null, "node-2 left the cluster", T0))[7]!;
        Assert.Equal("step 7: committed [memory], 4096 bytes in 2 files, 2026-12-04 01:00:00Z; holders: node-0, node-1, node-2 (2 per file); "
                     + "lost: node-1 (2 of its copies), node-2 (1 of its copies); not loadable from memory: 'r1.safetensors' has no holder left", CatalogLine.Of(lost, null));
        var json = CatalogLine.Memory(lost)!;
        Assert.False((bool)json["loadable"]!);
        Assert.Equal(new[] { "node-1", "node-2" }, ((Dictionary<string, object?>[])json["shards"]!)[1]["lost"]);

        var persisted = Memory(7, new StepPersisted(7, A, "00000000000000bb", T0))[7]!;
        Assert.Equal(new[] { "memory", "disk" }, CatalogLine.Tiers(persisted));
        Assert.StartsWith("step 7: committed [memory, disk], ", CatalogLine.Of(persisted, null));

        var evicted = Memory(7, new StepPersisted(7, A, "00000000000000bb", T0), new ReplicasEvicted(7, "a newer step committed", T0))[7]!;
        Assert.Equal("step 7: committed [disk], 4096 bytes in 2 files, 2026-12-04 01:00:00Z", CatalogLine.Of(evicted, null));

        // A deleted step is on no tier (before: "[memory]", also for a step retention deleted from the disk).
        var gone = Memory(7, new ReplicasEvicted(7, "budget of node-0", T0))[7]!;
        Assert.Equal("step 7: deleted, 4096 bytes in 2 files, 2026-12-04 01:00:00Z (budget of node-0)", CatalogLine.Of(gone, null));
        var persistedThenDeleted = Memory(7, new StepPersisted(7, A, "00000000000000bb", T0), new ReplicasEvicted(7, "a newer step committed", T0), new CheckpointDeleted(7, "retention", T0))[7]!;
        Assert.Equal([], CatalogLine.Tiers(persistedThenDeleted));
    }
}

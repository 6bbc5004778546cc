namespace ActorCkpt.Planner.Tests;

public class MemoryCatalogSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 4, 0, 0, 0, TimeSpan.Zero);
    private static readonly Guid A = Guid.NewGuid();
    private const string F0 = "r00000-000-0a.safetensors";
    private const string F1 = "r00001-000-0b.safetensors";

    /// <summary>Two files of ranks 0 and 1, each on its own host first and on the next host second.</summary>
    private static readonly MemoryCopies Copies = new(
        ["node-0", "node-1", "node-2"],
        [new ShardHolders(F0, 0, [0, 1], []), new ShardHolders(F1, 1, [1, 2], [])],
        "00000000000000aa");

    private static CheckpointCatalog Committed(long step = 7)
    {
        var catalog = new CheckpointCatalog();
        catalog.Apply(new SaveStarted(step, A, 2, $"memory/step-{step:D8}", T0, StorageTier.Memory));
        catalog.Apply(new MemoryStepCommitted(step, A, 2, 4096, Copies, T0.AddSeconds(1)));
        return catalog;
    }

    [Fact]
    public void A_memory_commit_should_be_committed_in_memory_and_not_on_disk()
    {
        var catalog = new CheckpointCatalog();
        catalog.Apply(new SaveStarted(7, A, 2, "memory/step-00000007", T0, StorageTier.Memory));
        Assert.Equal((CheckpointStatus.InFlight, StorageTier.Memory), (catalog[7]!.Status, catalog[7]!.Tier));

        catalog.Apply(new MemoryStepCommitted(7, A, 2, 4096, Copies, T0));
        var entry = catalog[7]!;

        Assert.Equal((CheckpointStatus.Committed, true, false, true), (entry.Status, entry.InMemory, entry.OnDisk, entry.Memory!.Loadable));
        Assert.Equal((2, 4096L, (string?)null), (entry.Files, entry.Bytes, entry.MetadataChecksum));
        Assert.Equal(new long[] { 7 }, catalog.CommittedSteps);
        Assert.Equal(new long[] { 7 }, catalog.MemorySteps);
        Assert.Empty(catalog.DiskSteps);
    }

    [Fact]
    public void Copies_added_after_a_loss_should_make_their_host_a_holder_of_those_files_only()
    {
        var catalog = Committed();
        catalog.Apply(new ReplicasLost(7, "node-1", null, "node-1 left the cluster", T0));

        // node-2 takes F0 (a host already in the list); node-3, new, takes F1.
        catalog.Apply(new ReplicasAdded(7, "node-2", [F0], T0));
        catalog.Apply(new ReplicasAdded(7, "node-3", [F1], T0));
        var memory = catalog[7]!.Memory!;
        Assert.Equal(["node-0", "node-1", "node-2", "node-3"], memory.Hosts);
        Assert.Equal(new[] { new ShardHolders(F0, 0, [0, 1, 2], [1]), new ShardHolders(F1, 1, [1, 2, 3], [1]) }, memory.Shards);

        // A host that lost a file and is given it again holds it again; a file not of the step changes nothing.
        catalog.Apply(new ReplicasAdded(7, "node-1", [F0, "r00009-000-zz.safetensors"], T0));
        Assert.Equal(new[] { new ShardHolders(F0, 0, [0, 1, 2], []), new ShardHolders(F1, 1, [1, 2, 3], [1]) }, catalog[7]!.Memory!.Shards);
        // Of a step the catalog does not know: ignored.
        catalog.Apply(new ReplicasAdded(99, "node-1", [F0], T0));
        Assert.Null(catalog[99]);
    }

    [Fact]
    public void A_lost_host_should_be_marked_on_the_files_it_held_and_the_step_unloadable_only_when_a_file_has_no_holder_left()
    {
        var catalog = Committed();

        catalog.Apply(new ReplicasLost(7, "node-1", null, "node-1 left the cluster", T0));
        Assert.Equal(new[] { new ShardHolders(F0, 0, [0, 1], [1]), new ShardHolders(F1, 1, [1, 2], [1]) }, catalog[7]!.Memory!.Shards);
        Assert.True(catalog[7]!.Memory!.Loadable);

        catalog.Apply(new ReplicasLost(7, "node-2", [F1], "checksum refused", T0));
        Assert.Equal(new[] { 1, 2 }, catalog[7]!.Memory!.Shards[1].Lost);
        Assert.False(catalog[7]!.Memory!.Loadable);
        Assert.Equal(new long[] { 7 }, catalog.MemorySteps); // still held by the catalog's record; whether it loads is Loadable's

        catalog.Apply(new ReplicasRestored(7, "node-1", null, T0));
        Assert.Equal(new[] { new ShardHolders(F0, 0, [0, 1], []), new ShardHolders(F1, 1, [1, 2], [2]) }, catalog[7]!.Memory!.Shards);
        Assert.True(catalog[7]!.Memory!.Loadable);
    }

    [Fact]
    public void Holder_events_for_an_unknown_host_or_a_disk_step_should_change_nothing()
    {
        var catalog = Committed();
        var before = catalog[7];
        catalog.Apply(new ReplicasLost(7, "node-9", null, "never held anything", T0));
        Assert.Equal(before, catalog[7]);

        catalog.Apply(new SaveStarted(8, A, 2, "step-00000008", T0));
        catalog.Apply(new SaveCommitted(8, A, "0000000000000001", 2, 10, T0));
        var disk = catalog[8];
        catalog.Apply(new ReplicasLost(8, "node-0", null, "no memory copies", T0));
        Assert.Equal(disk, catalog[8]);
    }

    [Fact]
    public void A_persisted_step_should_be_on_both_tiers_and_stay_on_disk_once_evicted()
    {
        var catalog = Committed();
        catalog.Apply(new StepPersisted(7, A, "00000000000000bb", T0));
        var entry = catalog[7]!;
        Assert.Equal((true, true, true, "00000000000000bb"), (entry.Persisted, entry.OnDisk, entry.InMemory, entry.MetadataChecksum));
        Assert.Equal(new long[] { 7 }, catalog.DiskSteps);

        catalog.Apply(new ReplicasEvicted(7, "a newer step committed", T0));

        entry = catalog[7]!;
        Assert.Equal((CheckpointStatus.Committed, true, false, true), (entry.Status, entry.OnDisk, entry.InMemory, entry.Memory!.Evicted));
        Assert.Empty(catalog.MemorySteps);
        Assert.Equal(new long[] { 7 }, catalog.DiskSteps);
    }

    [Fact]
    public void Evicting_a_step_only_in_memory_should_delete_it()
    {
        var catalog = Committed();
        catalog.Apply(new ReplicasEvicted(7, "budget of node-0", T0.AddSeconds(5)));

        var entry = catalog[7]!;
        Assert.Equal((CheckpointStatus.Deleted, "budget of node-0", T0.AddSeconds(5)), (entry.Status, entry.Reason, entry.EndedAt));
        Assert.Empty(catalog.CommittedSteps);
        Assert.Empty(catalog.MemorySteps);
    }

    [Fact]
    public void A_persist_of_another_attempt_or_of_a_deleted_step_should_not_bring_it_back()
    {
        var catalog = Committed();
        catalog.Apply(new StepPersisted(7, Guid.NewGuid(), "00000000000000bb", T0));
        Assert.False(catalog[7]!.Persisted);

        catalog.Apply(new CheckpointDeleted(7, "deleted on request", T0));
        catalog.Apply(new StepPersisted(7, A, "00000000000000bb", T0));

        var entry = catalog[7]!;
        Assert.Equal((CheckpointStatus.Deleted, false, true), (entry.Status, entry.Persisted, entry.Memory!.Evicted));
        Assert.Empty(catalog.DiskSteps);
    }

    [Fact]
    public void A_new_attempt_should_forget_the_memory_copies_of_the_one_before()
    {
        var catalog = Committed();
        catalog.Apply(new SaveStarted(7, Guid.NewGuid(), 2, "step-00000007", T0));

        var entry = catalog[7]!;
        Assert.Equal((CheckpointStatus.InFlight, StorageTier.Disk, (MemoryCopies?)null, 2), (entry.Status, entry.Tier, entry.Memory, entry.Attempts));
    }

    [Fact]
    public void Copy_events_about_a_step_the_catalog_does_not_know_should_add_no_entry()
    {
        var catalog = new CheckpointCatalog();
        catalog.Apply(new ReplicasLost(9, "node-0", null, "left", T0));
        catalog.Apply(new ReplicasRestored(9, "node-0", null, T0));
        catalog.Apply(new StepPersisted(9, A, "00000000000000bb", T0));
        catalog.Apply(new ReplicasEvicted(9, "budget", T0));

        Assert.Empty(catalog.Entries);
    }

    [Fact]
    public void A_commit_by_rename_after_a_memory_attempt_should_make_a_disk_step()
    {
        var catalog = Committed();
        catalog.Apply(new SaveCommitted(7, Guid.Empty, "0000000000000001", 2, 10, T0, "found committed on disk; not in the journal"));

        var entry = catalog[7]!;
        Assert.Equal((StorageTier.Disk, false, (MemoryCopies?)null, true), (entry.Tier, entry.Persisted, entry.Memory, entry.OnDisk));
        Assert.Equal(new long[] { 7 }, catalog.DiskSteps);
        Assert.Empty(catalog.MemorySteps);
    }

    [Fact]
    public void A_snapshot_should_restore_memory_steps_with_their_holders()
    {
        var catalog = Committed();
        catalog.Apply(new ReplicasLost(7, "node-2", null, "node-2 left the cluster", T0));

        var restored = new CheckpointCatalog(catalog.ToSnapshot());

        Assert.Equal(catalog.Entries, restored.Entries);
    }
}

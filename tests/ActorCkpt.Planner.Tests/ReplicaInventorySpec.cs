namespace ActorCkpt.Planner.Tests;

public class ReplicaInventorySpec
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 4, 2, 0, 0, TimeSpan.Zero);
    private static readonly Guid A = Guid.NewGuid();
    private static readonly Guid B = Guid.NewGuid();

    /// <summary>Step 5 (attempt A): r0 on h0 then h1, r1 on h1 then h2; step 6 (attempt B) in flight.</summary>
    private static CheckpointCatalog Catalog(params ICatalogEvent[] after)
    {
        var catalog = new CheckpointCatalog();
        catalog.Apply(new SaveStarted(5, A, 2, "memory/step-00000005", T0, StorageTier.Memory));
        catalog.Apply(new MemoryStepCommitted(5, A, 2, 100, new MemoryCopies(new[] { "h0", "h1", "h2" },
            new[] { new ShardHolders("r0", 0, new[] { 0, 1 }, Array.Empty<int>()), new ShardHolders("r1", 1, new[] { 1, 2 }, Array.Empty<int>()) }, "00000000000000aa"), T0));
        catalog.Apply(new SaveStarted(6, B, 2, "memory/step-00000006", T0, StorageTier.Memory));
        foreach (var e in after) catalog.Apply(e);
        return catalog;
    }

    [Fact]
    public void A_host_holding_every_copy_placed_on_it_should_change_nothing()
    {
        var inventory = ReplicaInventory.Reconcile(Catalog(), "h1", new[] { new HeldCopy(5, A, "r0"), new HeldCopy(5, A, "r1") }, T0);

        Assert.Equal((0, 0, 0), (inventory.Lost.Count, inventory.Restored.Count, inventory.Debris.Count));
    }

    [Fact]
    public void A_host_that_came_back_empty_should_lose_every_copy_placed_on_it()
    {
        var inventory = ReplicaInventory.Reconcile(Catalog(), "h1", Array.Empty<HeldCopy>(), T0);

        var lost = Assert.Single(inventory.Lost);
        Assert.Equal((5L, "h1"), (lost.Step, lost.Host));
        Assert.Equal(new[] { "r0", "r1" }, lost.Files);
        Assert.Equal("not on h1 when it announced its replicas (a new machine, or its tmpfs cleared)", lost.Reason);
        Assert.Empty(inventory.Restored);
    }

    [Fact]
    public void A_process_restarted_with_its_tmpfs_files_should_restore_the_copies_marked_lost_and_lose_only_what_is_missing()
    {
        var catalog = Catalog(new ReplicasLost(5, "h1", null, "h1 left the cluster", T0));

        var inventory = ReplicaInventory.Reconcile(catalog, "h1", new[] { new HeldCopy(5, A, "r1") }, T0);

        var restored = Assert.Single(inventory.Restored);
        Assert.Equal((5L, "h1"), (restored.Step, restored.Host));
        Assert.Equal(new[] { "r1" }, restored.Files);
        // r0 was already marked lost: it stays lost, with no second event.
        Assert.Empty(inventory.Lost);
        foreach (var e in inventory.Restored) catalog.Apply(e);
        Assert.Equal(new[] { 1 }, catalog[5]!.Memory!.Shards[0].Lost);
        Assert.Empty(catalog[5]!.Memory!.Shards[1].Lost);
    }

    [Fact]
    public void Copies_of_another_attempt_or_of_a_step_no_longer_held_should_be_debris_and_a_round_in_flight_should_keep_its_own()
    {
        var catalog = Catalog(new SaveStarted(4, A, 2, "memory/step-00000004", T0, StorageTier.Memory),
            new MemoryStepCommitted(4, A, 2, 100, new MemoryCopies(new[] { "h0" }, new[] { new ShardHolders("q0", 0, new[] { 0 }, Array.Empty<int>()) }, "00000000000000bb"), T0),
            new ReplicasEvicted(4, "budget of h0", T0));
        var held = new[]
        {
            new HeldCopy(5, A, "r0"), new HeldCopy(5, B, "r0"), new HeldCopy(4, A, "q0"), new HeldCopy(6, B, "s0"), new HeldCopy(6, A, "s0"), new HeldCopy(9, A, "x"),
        };

        var inventory = ReplicaInventory.Reconcile(catalog, "h0", held, T0);

        Assert.Equal(new[] { new HeldCopy(4, A, "q0"), new HeldCopy(5, B, "r0"), new HeldCopy(6, A, "s0"), new HeldCopy(9, A, "x") }, inventory.Debris);
        Assert.Empty(inventory.Lost);
        Assert.Empty(inventory.Restored);
    }

    [Fact]
    public void A_host_the_catalog_never_placed_copies_on_should_keep_nothing_but_a_round_in_flights()
    {
        var inventory = ReplicaInventory.Reconcile(Catalog(), "h9", new[] { new HeldCopy(5, A, "r0"), new HeldCopy(6, B, "s1") }, T0);

        Assert.Equal(new[] { new HeldCopy(5, A, "r0") }, inventory.Debris);
        Assert.Empty(inventory.Lost);
    }
}

namespace ActorCkpt.Actors.Tests;

/// <summary>Lease requests resolved against the catalog, with no planner: who is granted what, and why others are refused.</summary>
public class LoadLeasesSpec
{
    private const string Root = "/ckpt";
    private static readonly DateTimeOffset T = DateTimeOffset.UnixEpoch;

    private static CheckpointCatalog Catalog()
    {
        var catalog = new CheckpointCatalog();
        foreach (var step in new long[] { 1, 2, 3 })
        {
            var id = Guid.NewGuid();
            catalog.Apply(new SaveStarted(step, id, 1, $"step_{step}", T));
            catalog.Apply(new SaveCommitted(step, id, $"{step:D16}", 1, 10, T));
        }
        catalog.Apply(new CheckpointDeleted(1, "retention", T));
        catalog.Apply(new SaveStarted(4, Guid.NewGuid(), 1, "step_4", T));
        return catalog;
    }

    [Fact]
    public void No_step_named_should_resolve_to_the_newest_committed_one_and_watch_a_new_holder_once()
    {
        var leases = new LoadLeases<string>();
        var (lease, watch) = leases.Request("rank0", null, renew: false, Catalog(), _ => false, Root);
        Assert.Equal(new LeaseResolution(3, "0000000000000003", null), lease);
        Assert.True(watch);
        Assert.False(leases.Request("rank0", 2, renew: false, Catalog(), _ => false, Root).Watch);
        Assert.True(leases.IsHeld(2) && leases.IsHeld(3));
    }

    [Fact]
    public void A_step_that_is_not_committed_should_be_refused_naming_what_it_is()
    {
        var leases = new LoadLeases<string>();
        Assert.Equal("step 4 is not a committed checkpoint in '/ckpt' (it is inflight)", leases.Request("r", 4, false, Catalog(), _ => false, Root).Lease.Refusal);
        Assert.Equal("step 1 is not a committed checkpoint in '/ckpt' (it is deleted: retention)", leases.Request("r", 1, false, Catalog(), _ => true, Root).Lease.Refusal);
        Assert.Equal("step 9 is not a committed checkpoint in '/ckpt'", leases.Request("r", 9, false, Catalog(), _ => true, Root).Lease.Refusal);
        Assert.Equal("no committed checkpoint in '/ckpt'", leases.Request("r", null, false, new CheckpointCatalog(), _ => true, Root).Lease.Refusal);
        Assert.False(leases.IsHeld(1) || leases.IsHeld(4));
    }

    [Fact]
    public void A_step_committed_only_in_memory_should_not_be_leased_for_a_load_from_disk()
    {
        var catalog = Catalog();
        var id = Guid.NewGuid();
        catalog.Apply(new SaveStarted(5, id, 1, "memory/step_5", T, StorageTier.Memory));
        catalog.Apply(new MemoryStepCommitted(5, id, 1, 10, new MemoryCopies(["h0"], [new ShardHolders("f", 0, [0], [])], "0000000000000005"), T));
        var leases = new LoadLeases<string>();

        Assert.Equal(new LeaseResolution(3, "0000000000000003", null), leases.Request("r", null, false, catalog, _ => false, Root).Lease);
        Assert.Equal("step 5 is not a committed checkpoint in '/ckpt' (it is committed in memory only)", leases.Request("r", 5, false, catalog, _ => false, Root).Lease.Refusal);

        catalog.Apply(new StepPersisted(5, id, "00000000000000d5", T));
        Assert.Equal(new LeaseResolution(5, "00000000000000d5", null), leases.Request("r", null, false, catalog, _ => false, Root).Lease);
    }

    [Fact]
    public void A_renewal_should_be_granted_on_a_deleted_step_whose_files_remain_and_each_grant_held_until_released()
    {
        var leases = new LoadLeases<string>();
        Assert.NotNull(leases.Request("r", 1, renew: true, Catalog(), _ => false, Root).Lease.Refusal);
        Assert.Equal(new LeaseResolution(1, "0000000000000001", null), leases.Request("r", 1, renew: true, Catalog(), _ => true, Root).Lease);
        // Asked again before its answer came: a second grant, which the rank hands back.
        leases.Request("r", 1, renew: true, Catalog(), _ => true, Root);
        Assert.Empty(leases.Release(1, "r"));
        Assert.Equal(new long[] { 1 }, leases.Release(1, "r"));
    }
}

namespace ActorCkpt.Planner.Tests;

/// <summary>
/// Which step a load reads and from which tier: the newest loadable, memory before disk, own host
/// first, falling back with the reason when a memory step has lost a shard's every holder.
/// </summary>
public class LoadSourcesSpec
{
    private const string F0 = "r00000-000-aa.safetensors", F1 = "r00001-000-aa.safetensors", F2 = "r00002-000-aa.safetensors";
    private static readonly string[] Hosts = ["h0", "h1", "h2"];
    private static readonly Func<string, bool> AllLive = _ => true;

    private static ShardHolders Shard(string file, int rank, int[] holders, params int[] lost) => new(file, rank, holders, lost);

    /// <summary>R = 2 over three hosts, each rank's own host first; <paramref name="lostOn"/> lost from every file it holds.</summary>
    private static MemoryCopies Memory(int? lostOn = null, bool evicted = false)
    {
        int[] Lost(int[] holders) => lostOn is { } h && holders.Contains(h) ? [h] : [];
        return new MemoryCopies(Hosts,
            [Shard(F0, 0, [0, 1], Lost([0, 1])), Shard(F1, 1, [1, 2], Lost([1, 2])), Shard(F2, 2, [2, 0], Lost([2, 0]))],
            "0123456789abcdef", evicted);
    }

    /// <summary>R = 1: each rank's file on its own host only.</summary>
    private static MemoryCopies Single(int? lostOn = null) => new(Hosts,
        [Shard(F0, 0, [0], lostOn == 0 ? [0] : []), Shard(F1, 1, [1], lostOn == 1 ? [1] : []), Shard(F2, 2, [2], lostOn == 2 ? [2] : [])],
        "0123456789abcdef");

    private static TieredStep Disk(long step) => new(step, true, null);

    private static (LoadChoice? Choice, string? Refusal) Choose(IReadOnlyList<TieredStep> steps, long? requested = null, StorageTier? only = null,
        Func<string, bool>? live = null, string? ownHost = "h1") =>
        LoadSources.Choose(steps, requested, only, live ?? AllLive, ownHost);

    private static void AssertHolders(LoadChoice choice, params (string File, string[] Hosts)[] expected)
    {
        Assert.Equal(expected.Select(e => e.File).Order(), choice.Holders.Keys.Order());
        foreach (var (file, hosts) in expected) Assert.Equal(hosts, choice.Holders[file]);
    }

    [Fact]
    public void The_newest_memory_step_should_load_from_memory_own_host_first_then_placement_order()
    {
        var (choice, refusal) = Choose([Disk(4), new TieredStep(5, false, Memory()), Disk(3)]);

        Assert.Null(refusal);
        Assert.Equal(5, choice!.Step);
        Assert.Equal(StorageTier.Memory, choice.Tier);
        Assert.Empty(choice.PassedOver);
        AssertHolders(choice, (F0, ["h1", "h0"]), (F1, ["h1", "h2"]), (F2, ["h2", "h0"]));

        // Unknown own host: placement order as recorded.
        AssertHolders(Choose([new TieredStep(5, false, Memory())], ownHost: null).Choice!, (F0, ["h0", "h1"]), (F1, ["h1", "h2"]), (F2, ["h2", "h0"]));
    }

    [Fact]
    public void A_step_on_both_tiers_should_load_from_memory()
    {
        var choice = Choose([new TieredStep(5, true, Memory())]).Choice!;
        Assert.Equal((5L, StorageTier.Memory), (choice.Step, choice.Tier));
    }

    [Fact]
    public void A_newest_step_that_lost_a_shards_every_holder_should_give_way_to_an_older_memory_step_newer_than_disk()
    {
        var lostBoth = new MemoryCopies(Hosts,
            [Shard(F0, 0, [0, 1]), Shard(F1, 1, [1, 2], 1, 2), Shard(F2, 2, [2, 0], 2)], "0123456789abcdef");

        var (choice, refusal) = Choose([Disk(3), new TieredStep(4, false, Memory(lostOn: 1)), new TieredStep(5, false, lostBoth)]);

        Assert.Null(refusal);
        Assert.Equal((4L, StorageTier.Memory), (choice!.Step, choice.Tier));
        Assert.Equal(["step 5: not loadable from memory: r00001-000-aa.safetensors (rank 1) held only on h1 (lost), h2 (lost); not on disk"], choice.PassedOver);
        // Step 4 lost h1: its files come from the surviving holder.
        AssertHolders(choice, (F0, ["h0"]), (F1, ["h2"]), (F2, ["h2", "h0"]));
    }

    [Fact]
    public void With_one_replica_and_its_host_lost_the_newest_disk_step_should_load_and_say_why()
    {
        var (choice, refusal) = Choose([Disk(4), new TieredStep(5, false, Single(lostOn: 1))]);

        Assert.Null(refusal);
        Assert.Equal((4L, StorageTier.Disk), (choice!.Step, choice.Tier));
        Assert.Empty(choice.Holders);
        Assert.Equal(["step 5: not loadable from memory: r00001-000-aa.safetensors (rank 1) held only on h1 (lost); not on disk"], choice.PassedOver);
    }

    [Fact]
    public void A_host_that_is_not_live_should_count_as_lost()
    {
        var (choice, _) = Choose([Disk(4), new TieredStep(5, false, Single())], live: host => host != "h1");

        Assert.Equal((4L, StorageTier.Disk), (choice!.Step, choice.Tier));
        Assert.Equal(["step 5: not loadable from memory: r00001-000-aa.safetensors (rank 1) held only on h1 (not live); not on disk"], choice.PassedOver);

        // R = 2: a dead host's files come from the other holder, and never list the dead one.
        var fromPeers = Choose([new TieredStep(5, false, Memory())], live: host => host != "h1").Choice!;
        AssertHolders(fromPeers, (F0, ["h0"]), (F1, ["h2"]), (F2, ["h2", "h0"]));
    }

    [Fact]
    public void A_persisted_step_with_its_holders_lost_should_load_from_disk()
    {
        var (choice, _) = Choose([Disk(3), new TieredStep(5, true, Single(lostOn: 2))]);

        Assert.Equal((5L, StorageTier.Disk), (choice!.Step, choice.Tier));
        Assert.Equal(["step 5: not loadable from memory: r00002-000-aa.safetensors (rank 2) held only on h2 (lost)"], choice.PassedOver);
    }

    [Fact]
    public void A_requested_memory_only_step_that_is_lost_should_be_refused_naming_its_files()
    {
        TieredStep[] steps = [Disk(4), new TieredStep(5, false, Single(lostOn: 1)), new TieredStep(6, false, Memory())];

        Assert.Equal((null, "step 5 cannot be loaded: not loadable from memory: r00001-000-aa.safetensors (rank 1) held only on h1 (lost); not on disk"),
            Choose(steps, requested: 5));
        Assert.Equal((null, "step 9 is not a committed checkpoint"), Choose(steps, requested: 9));

        // A requested step loads even when newer ones exist, from the tier it can.
        Assert.Equal((4L, StorageTier.Disk), (Choose(steps, requested: 4).Choice!.Step, Choose(steps, requested: 4).Choice!.Tier));
        Assert.Equal((6L, StorageTier.Memory), (Choose(steps, requested: 6).Choice!.Step, Choose(steps, requested: 6).Choice!.Tier));
    }

    [Fact]
    public void A_step_whose_every_file_lost_its_holders_should_name_the_hosts_once_not_each_file()
    {
        // The whole cluster lost (h2 not live, h0 and h1 lost): one line of hosts, in host order, each once.
        var allGone = new MemoryCopies(Hosts,
            [Shard(F0, 0, [0, 1], 0, 1), Shard(F1, 1, [1, 2], 1), Shard(F2, 2, [2, 0], 0)], "0123456789abcdef");

        Assert.Equal((null, "step 5 cannot be loaded: not loadable from memory: none of its 3 files has a holder left, all were on h0 (lost), h1 (lost), h2 (not live); not on disk"),
            Choose([new TieredStep(5, false, allGone)], requested: 5, live: host => host != "h2"));

        // One file with a holder left: the files without one are named, as before.
        var oneLeft = new MemoryCopies(Hosts, [Shard(F0, 0, [0, 1], 0, 1), Shard(F1, 1, [1, 2], 1, 2), Shard(F2, 2, [2, 0], 2)], "0123456789abcdef");
        Assert.Equal((null, "step 5 cannot be loaded: not loadable from memory: r00000-000-aa.safetensors (rank 0) held only on h0 (lost), h1 (lost); " +
                            "r00001-000-aa.safetensors (rank 1) held only on h1 (lost), h2 (lost); not on disk"),
            Choose([new TieredStep(5, false, oneLeft)], requested: 5));
    }

    [Fact]
    public void Only_disk_and_only_memory_should_be_honoured()
    {
        TieredStep[] steps = [Disk(3), new TieredStep(4, true, Memory()), new TieredStep(5, false, Memory()), Disk(6)];

        var disk = Choose(steps, only: StorageTier.Disk).Choice!;
        Assert.Equal((6L, StorageTier.Disk), (disk.Step, disk.Tier));
        var persisted = Choose(steps[..3], only: StorageTier.Disk).Choice!;
        Assert.Equal((4L, StorageTier.Disk), (persisted.Step, persisted.Tier));
        Assert.Equal(["step 5: not on disk"], persisted.PassedOver);

        var memory = Choose(steps, only: StorageTier.Memory).Choice!;
        Assert.Equal((5L, StorageTier.Memory), (memory.Step, memory.Tier));
        Assert.Equal(["step 6: not in memory"], memory.PassedOver);

        Assert.Equal((null, "no committed step is loadable from disk: step 5: not on disk"),
            Choose([new TieredStep(5, false, Memory())], only: StorageTier.Disk));
        Assert.Equal((null, "step 3 cannot be loaded from memory: not in memory"), Choose(steps, requested: 3, only: StorageTier.Memory));
        Assert.Equal((null, "step 5 cannot be loaded from disk: not on disk"), Choose(steps, requested: 5, only: StorageTier.Disk));
    }

    [Fact]
    public void An_evicted_step_should_never_load_from_memory()
    {
        // Persisted and evicted: disk, and the eviction (the usual end of its memory life) is not news.
        var (choice, _) = Choose([new TieredStep(5, true, Memory(evicted: true))]);
        Assert.Equal((5L, StorageTier.Disk), (choice!.Step, choice.Tier));
        Assert.Empty(choice.PassedOver);

        Assert.Equal((null, "step 5 cannot be loaded from memory: evicted from memory"),
            Choose([new TieredStep(5, true, Memory(evicted: true))], requested: 5, only: StorageTier.Memory));
        Assert.Equal((null, "no committed step is loadable: step 5: evicted from memory; not on disk"),
            Choose([new TieredStep(5, false, Memory(evicted: true))]));
    }

    [Fact]
    public void Nothing_committed_should_be_refused_and_bad_catalog_data_named()
    {
        Assert.Equal((null, "no committed checkpoint"), Choose([]));
        Assert.StartsWith("step 4 is listed twice among the committed steps", Assert.Throws<ArgumentException>(() => Choose([Disk(4), Disk(4)])).Message);
        var badIndex = new MemoryCopies(Hosts, [Shard(F0, 0, [0, 3])], "0123456789abcdef");
        Assert.StartsWith("step 5: file r00000-000-aa.safetensors names host 3, but the step records 3 hosts",
            Assert.Throws<ArgumentException>(() => Choose([new TieredStep(5, false, badIndex)])).Message);
        var twice = new MemoryCopies(Hosts, [Shard(F0, 0, [0]), Shard(F0, 0, [1])], "0123456789abcdef");
        Assert.StartsWith("step 5: file r00000-000-aa.safetensors is listed twice among its memory shards",
            Assert.Throws<ArgumentException>(() => Choose([new TieredStep(5, false, twice)])).Message);
        var noHolder = new MemoryCopies(Hosts, [Shard(F0, 0, [])], "0123456789abcdef");
        Assert.Equal((null, "no committed step is loadable: step 5: not loadable from memory: r00000-000-aa.safetensors (rank 0) has no holder; not on disk"),
            Choose([new TieredStep(5, false, noHolder)]));
    }

    private static TieredStep Object(long step, bool onDisk = false) => new(step, onDisk, null, OnObject: true);

    [Fact]
    public void A_step_kept_only_in_the_object_tier_should_load_from_there_when_it_is_the_newest()
    {
        var (choice, refusal) = Choose([Disk(3), Object(4), Object(2)]);

        Assert.Null(refusal);
        Assert.Equal((4L, StorageTier.Object), (choice!.Step, choice.Tier));
        // Before: "step 4: not on disk", warned at every such load, though that is how a step comes to load from there.
        Assert.Empty(choice.PassedOver);
        Assert.Empty(choice.Holders);
    }

    [Fact]
    public void A_step_on_disk_and_in_the_object_tier_should_load_from_disk_and_from_the_object_tier_when_asked_only()
    {
        var (both, _) = Choose([Object(4, onDisk: true)]);
        Assert.Equal((4L, StorageTier.Disk), (both!.Step, both.Tier));
        Assert.Empty(both.PassedOver);

        var (only, _) = Choose([Object(4, onDisk: true), Disk(5)], only: StorageTier.Object);
        Assert.Equal((4L, StorageTier.Object), (only!.Step, only.Tier));

        var (memory, _) = Choose([new TieredStep(6, false, Memory(), OnObject: true)]);
        Assert.Equal(StorageTier.Memory, memory!.Tier);

        // A memory copy passed over is news; the disk that no longer holds the step is not.
        var (lost, _) = Choose([new TieredStep(6, false, Single(lostOn: 1), OnObject: true)]);
        Assert.Equal((6L, StorageTier.Object), (lost!.Step, lost.Tier));
        Assert.Equal(["step 6: not loadable from memory: r00001-000-aa.safetensors (rank 1) held only on h1 (lost)"], lost.PassedOver);
    }

    [Fact]
    public void Nothing_in_the_object_tier_should_be_refused_naming_it_when_the_load_asks_for_it()
    {
        var (choice, refusal) = Choose([Disk(3)], only: StorageTier.Object);
        Assert.Null(choice);
        Assert.Equal("no committed step is loadable from the object tier: step 3: not in the object tier", refusal);

        var (requested, why) = Choose([Disk(3), Object(2)], requested: 3, only: StorageTier.Object);
        Assert.Null(requested);
        Assert.Equal("step 3 cannot be loaded from the object tier: not in the object tier", why);
    }
}

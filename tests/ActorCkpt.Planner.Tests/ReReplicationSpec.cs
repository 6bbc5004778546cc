namespace ActorCkpt.Planner.Tests;

/// <summary>Which copies re-replication makes: files under R copies on live hosts get copies from a survivor onto distinct hosts, deterministically.</summary>
public class ReReplicationSpec
{
    private const string F0 = "r00000-000-0a.safetensors";
    private const string F1 = "r00001-000-0b.safetensors";
    private const string F2 = "r00002-000-0c.safetensors";

    /// <summary>Three files, each on its rank's host and the next one (R = 2 over h0, h1, h2).</summary>
    private static readonly MemoryCopies Copies = new(
        ["h0", "h1", "h2"],
        [new ShardHolders(F0, 0, [0, 1], []), new ShardHolders(F1, 1, [1, 2], []), new ShardHolders(F2, 2, [2, 0], [])],
        "00000000000000aa");

    private static Func<string, bool> LiveAll(params string[] hosts) => h => hosts.Contains(h);

    [Fact]
    public void A_lost_host_s_files_should_each_get_one_copy_from_the_survivor_on_the_host_after_the_lost_one()
    {
        var lost = Copies.WithLost("h1", null, lost: true);
        var plan = ReReplication.Plan(lost, 2, LiveAll("h0", "h2"), ["h0", "h2"]);

        // F0 (h0, h1): the ring after h1 is h2. F1 (h1, h2): h2 already holds it; next is h0. F2 is whole.
        Assert.Equal(new[] { new CopyToMake(F0, "h0", "h2"), new CopyToMake(F1, "h2", "h0") }, plan);
    }

    [Fact]
    public void A_holder_whose_host_is_not_live_should_count_as_gone_even_before_it_is_marked_lost()
    {
        var plan = ReReplication.Plan(Copies, 2, LiveAll("h0", "h1", "h3"), ["h0", "h1", "h3"]);
        // h2 is down: F1 (h1, h2) and F2 (h2, h0) are one short; a new host h3 is the ring host after h2.
        Assert.Equal(new[] { new CopyToMake(F1, "h1", "h3"), new CopyToMake(F2, "h0", "h3") }, plan);
    }

    [Fact]
    public void Nothing_should_be_copied_when_every_file_has_R_copies_when_none_survives_or_when_no_host_is_free()
    {
        Assert.Empty(ReReplication.Plan(Copies, 2, LiveAll("h0", "h1", "h2"), ["h0", "h1", "h2"]));
        // F0 lost everywhere: nothing to copy from. F1 and F2 keep one copy on h2, and no third host is free.
        var bad = Copies.WithLost("h0", null, lost: true).WithLost("h1", null, lost: true);
        Assert.Equal(new[] { new CopyToMake(F1, "h2", "h0"), new CopyToMake(F2, "h2", "h1") }, ReReplication.Plan(bad, 2, LiveAll("h0", "h1", "h2"), ["h0", "h1", "h2"]));
        Assert.Empty(ReReplication.Plan(bad, 2, LiveAll("h2"), ["h2"]));
        Assert.Empty(ReReplication.Plan(Copies with { Evicted = true }, 2, LiveAll("h0"), ["h0"]));
    }

    [Fact]
    public void With_R_of_3_a_file_down_to_one_copy_should_get_two_on_distinct_hosts()
    {
        var copies = new MemoryCopies(["a", "b", "c", "d"], [new ShardHolders(F0, 0, [0, 1, 2], [])], "00000000000000aa");
        var plan = ReReplication.Plan(copies, 3, LiveAll("a", "d", "e"), ["a", "d", "e"]);
        Assert.Equal(new[] { new CopyToMake(F0, "a", "d"), new CopyToMake(F0, "a", "e") }, plan);
        Assert.Equal(2, plan.Select(c => c.Target).Distinct().Count());
    }
}

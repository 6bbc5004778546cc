namespace ActorCkpt.Actors.Tests;

/// <summary>The planner's record of replica holders, with strings for holders: which hosts are live.</summary>
public class HolderDirectorySpec
{
    [Fact]
    public void A_host_should_stay_live_while_one_of_its_processes_holds_and_be_reported_lost_with_the_last()
    {
        var holders = new HolderDirectory<string>();
        Assert.True(holders.Register("h0", "h0/a", 100));
        Assert.False(holders.Register("h0", "h0/b", 100));
        Assert.True(holders.Register("h1", "h1/a", 200));
        Assert.Equal(new[] { "h0", "h1" }, holders.LiveHosts);

        Assert.Null(holders.Lost("h0/a"));
        Assert.True(holders.IsLive("h0"));
        Assert.Equal(new[] { "h0/b" }, holders.HoldersOn("h0"));

        Assert.Equal("h0", holders.Lost("h0/b"));
        Assert.False(holders.IsLive("h0"));
        Assert.Empty(holders.HoldersOn("h0"));
        Assert.Equal(new[] { "h1" }, holders.LiveHosts);
        Assert.Null(holders.Lost("h0/b"));
        Assert.Null(holders.Lost("stranger"));
    }

    [Fact]
    public void A_host_that_announced_should_stay_announced_after_it_goes_and_one_that_never_did_should_not_be()
    {
        var holders = new HolderDirectory<string>();
        Assert.False(holders.HasAnnounced("h0"));
        Assert.Throws<ArgumentOutOfRangeException>(() => holders.Register("h0", "h0/a", 0));
        Assert.False(holders.HasAnnounced("h0"));

        holders.Register("h0", "h0/a", 100);
        Assert.Equal("h0", holders.Lost("h0/a"));
        Assert.False(holders.IsLive("h0"));
        Assert.True(holders.HasAnnounced("h0"));
        Assert.False(holders.HasAnnounced("h1"));
    }

    [Fact]
    public void A_scanning_holder_should_mark_its_host_as_there_but_not_live_until_it_announces()
    {
        var holders = new HolderDirectory<string>();
        Assert.True(holders.Scanning("h0", "h0/a"));
        Assert.False(holders.Scanning("h0", "h0/a"));
        Assert.True(holders.IsScanning("h0"));
        Assert.False(holders.IsLive("h0"));
        Assert.False(holders.HasAnnounced("h0"));
        Assert.Equal([("h0/a", "h0")], holders.ScanningHolders);

        Assert.True(holders.Register("h0", "h0/a", 100));
        Assert.False(holders.IsScanning("h0"));
        Assert.Null(holders.StoppedScanning("h0/a"));
        // A late notice of a holder already announced changes nothing.
        Assert.False(holders.Scanning("h0", "h0/a"));
        Assert.False(holders.IsScanning("h0"));
    }

    [Fact]
    public void A_holder_that_stops_during_its_scan_should_leave_its_host_silent()
    {
        var holders = new HolderDirectory<string>();
        holders.Scanning("h0", "h0/a");
        holders.Scanning("h0", "h0/b");
        Assert.Equal("h0", holders.StoppedScanning("h0/a"));
        Assert.True(holders.IsScanning("h0"));
        Assert.Equal("h0", holders.StoppedScanning("h0/b"));
        Assert.False(holders.IsScanning("h0"));
        Assert.Null(holders.StoppedScanning("h0/b"));
        Assert.Null(holders.Lost("h0/b"));
        Assert.Empty(holders.ScanningHolders);
    }

    [Fact]
    public void A_holder_announcing_again_should_update_the_budget_only_and_a_restarted_host_should_be_new_again()
    {
        var holders = new HolderDirectory<string>();
        holders.Register("h0", "h0/a", 100);
        Assert.False(holders.Register("h0", "h0/a", 300));
        Assert.Equal(300, holders.Budgets["h0"]);
        Assert.Equal("h0", holders.HostOf("h0/a"));

        holders.Lost("h0/a");
        Assert.False(holders.Budgets.ContainsKey("h0"));
        Assert.True(holders.Register("h0", "h0/restarted", 100));
    }

    [Fact]
    public void A_holder_claiming_another_host_or_a_budget_that_is_not_positive_should_be_refused()
    {
        var holders = new HolderDirectory<string>();
        holders.Register("h0", "p", 100);

        Assert.Equal("holder p announced host 'h1', but it is on 'h0' (Parameter 'host')", Assert.Throws<ArgumentException>(() => holders.Register("h1", "p", 100)).Message);
        Assert.StartsWith("host 'h2': a memory budget must be positive", Assert.Throws<ArgumentOutOfRangeException>(() => holders.Register("h2", "q", 0)).Message);
        Assert.False(holders.IsLive("h2"));
    }
}

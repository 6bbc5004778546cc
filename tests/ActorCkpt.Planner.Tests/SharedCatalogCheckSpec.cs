namespace ActorCkpt.Planner.Tests;

/// <summary>Which root may open a catalog kept outside it: one whose mark reaches the journal's end, never a copy the journal went past.</summary>
public class SharedCatalogCheckSpec
{
    private static readonly DateTimeOffset At = new(2026, 12, 7, 10, 30, 5, TimeSpan.Zero);

    private static CatalogOpened Opened(string root = "/ckpt/run") => new(root, At);

    private static string? Problem(long? mark, long lastEvent, CatalogOpened? last, string root = "/ckpt/run") =>
        SharedCatalogCheck.Problem(root, mark, lastEvent, last, "on PostgreSQL db:5432, database 'ckpt'", configFile: null);

    [Fact]
    public void A_catalog_that_recorded_no_opening_should_open_from_any_root()
    {
        // A new catalog (a new root, a rebuilt one), or one journaled by a build that did not mark roots.
        Assert.Null(Problem(null, 0, null));
        Assert.Null(Problem(null, 40, null));
        Assert.Null(Problem(4, 40, null));
    }

    [Fact]
    public void The_root_whose_mark_reaches_the_journal_s_end_should_open_moved_or_not()
    {
        Assert.Null(Problem(40, 40, Opened()));
        // Moved whole, the mark moved with it: the path the catalog names is only for the error.
        Assert.Null(Problem(40, 40, Opened("/old/place")));
    }

    [Fact]
    public void A_root_whose_planner_stopped_with_writes_in_flight_should_open_whichever_of_them_reached_the_journal()
    {
        // Marked up to 43 as three writes were asked for after event 40: none, some or all of them landed.
        foreach (var last in new long[] { 40, 41, 43 }) Assert.Null(Problem(43, last, Opened()));
    }

    [Fact]
    public void A_copy_the_journal_went_past_should_be_refused_in_one_line_naming_the_other_root_and_the_way_out()
    {
        // Copied while the journal was at 12 (one write in flight); the original journaled on to 20.
        var problem = Problem(13, 20, Opened("/ckpt/original"), root: "/ckpt/copy of it");
        Assert.Equal("checkpoint root '/ckpt/copy of it' shares its catalog (on PostgreSQL db:5432, database 'ckpt') with another root: the catalog's journal went on " +
                     "to event 20 without this root, which marked it up to event 13 (last opened from '/ckpt/original' at 2026-12-07 10:30:05Z), so it is a copy of that " +
                     "root or a restored backup (the retention of one would delete the other's steps). Give it a catalog of its own with: actorckpt catalog rebuild " +
                     "'/ckpt/copy of it' --config FILE, FILE being the configuration that names this catalog", problem);
    }

    [Fact]
    public void The_advice_should_name_the_file_that_configures_the_catalog_when_it_is_known()
    {
        var problem = SharedCatalogCheck.Problem("/ckpt/copy", 13, 20, Opened(), "on PostgreSQL db:5432, database 'ckpt'", configFile: "/etc/ckpt/my catalog.conf");
        Assert.EndsWith("Give it a catalog of its own with: actorckpt catalog rebuild /ckpt/copy --config '/etc/ckpt/my catalog.conf'", problem);
    }

    [Fact]
    public void A_backup_restored_in_place_or_a_root_without_its_mark_should_be_refused()
    {
        Assert.Contains("which marked it up to event 13 (last opened from this root's path at", Problem(13, 14, Opened()));
        Assert.Contains("without this root, which has no catalog.mark (last opened from this root's path", Problem(null, 1, Opened()));
    }

    [Fact]
    public void Of_two_copies_the_first_to_journal_should_keep_the_catalog()
    {
        // Both hold the mark of the journal's end (40); the copy opens first and journals its opening (41).
        Assert.Null(Problem(40, 40, Opened(), root: "/ckpt/copy"));
        Assert.NotNull(Problem(40, 41, Opened("/ckpt/copy"), root: "/ckpt/run"));
        Assert.Null(Problem(41, 41, Opened("/ckpt/copy"), root: "/ckpt/copy"));
    }

    [Theory]
    [InlineData("/ckpt/run-1", "/ckpt/run-1")]
    [InlineData("s3://bucket/run", "s3://bucket/run")]
    [InlineData("/ckpt/it's here", "'/ckpt/it'\\''s here'")]
    [InlineData("/ckpt/$HOME", "'/ckpt/$HOME'")]
    public void A_path_in_the_advice_should_be_one_shell_word(string path, string word) => Assert.Equal(word, SharedCatalogCheck.ShellWord(path));
}

namespace ActorCkpt.Planner.Tests;

/// <summary>Which root may open a catalog kept outside it: the one it was last opened from, never a copy.</summary>
public class SharedCatalogCheckSpec
{
    private static readonly Guid T0 = Guid.Parse("00000000000000000000000000000a00");
    private static readonly Guid T1 = Guid.Parse("00000000000000000000000000000a01");
    private static readonly Guid T2 = Guid.Parse("00000000000000000000000000000a02");
    private static readonly DateTimeOffset At = new(2026, 12, 7, 10, 30, 5, TimeSpan.Zero);

    private static CatalogOpened Last(Guid token, Guid? previous, string root = "/ckpt/run") => new(token, previous, root, At);

    private static string? Problem(OpeningMarker? marker, CatalogOpened? last, string root = "/ckpt/run") =>
        SharedCatalogCheck.Problem(root, marker, last, "on PostgreSQL db:5432, database 'ckpt'");

    [Fact]
    public void A_catalog_that_recorded_no_opening_should_open_from_any_root()
    {
        // A new catalog (a new root, a rebuilt one), or one journaled before openings were recorded.
        Assert.Null(Problem(null, null));
        Assert.Null(Problem(new OpeningMarker(T1, T0), null));
    }

    [Fact]
    public void The_root_last_opened_should_open_again_also_moved()
    {
        Assert.Null(Problem(new OpeningMarker(T1, T0), Last(T1, T0)));
        // Moved whole, the root's file moved with it: the path the catalog names is only for the error.
        Assert.Null(Problem(new OpeningMarker(T1, T0), Last(T1, T0, root: "/old/place")));
    }

    [Fact]
    public void A_root_whose_planner_stopped_between_its_file_and_the_journal_should_open_again()
    {
        // The file names the catalog's last opening as its previous one: this root wrote it, the journal did not follow.
        Assert.Null(Problem(new OpeningMarker(T2, T1), Last(T1, T0)));
    }

    [Fact]
    public void A_copy_holding_an_older_opening_should_be_refused_in_one_line_naming_the_other_root_and_the_way_out()
    {
        // Copied while the catalog was at T0; the original opened since (T1).
        var problem = Problem(new OpeningMarker(T0, null), Last(T1, T0, root: "/ckpt/original"), root: "/ckpt/copy");
        Assert.Equal("checkpoint root '/ckpt/copy' shares its catalog (on PostgreSQL db:5432, database 'ckpt') with another root: the catalog was last opened " +
                     "from '/ckpt/original' at 2026-12-07 10:30:05Z, and this root's catalog.opened names an older opening, so it is a copy of that root or a " +
                     "restored backup (the retention of one would delete the other's steps). Give it a catalog of its own with: actorckpt catalog rebuild '/ckpt/copy'",
            problem);
    }

    [Fact]
    public void A_backup_restored_in_place_or_a_root_without_its_file_should_be_refused()
    {
        // Two openings behind: neither the last nor the one a stopped opening would leave.
        Assert.Contains("last opened from this root's path at", Problem(new OpeningMarker(T0, null), Last(T2, T1)));
        // A copy made before any opening was recorded (or a root whose file was removed) once the catalog has one.
        var missing = Problem(null, Last(T1, null));
        Assert.Contains("this root's catalog.opened has none, so it is a copy of that root or a restored backup", missing);
    }

    [Fact]
    public void Of_two_copies_the_first_to_open_should_keep_the_catalog()
    {
        // Both roots hold T0, the catalog's last opening; the copy opens first and writes T1.
        Assert.Null(Problem(new OpeningMarker(T0, null), Last(T0, null), root: "/ckpt/copy"));
        var copyOpened = Last(T1, T0, root: "/ckpt/copy");
        Assert.Null(Problem(new OpeningMarker(T1, T0), copyOpened, root: "/ckpt/copy"));
        Assert.NotNull(Problem(new OpeningMarker(T0, null), copyOpened, root: "/ckpt/original"));
    }
}

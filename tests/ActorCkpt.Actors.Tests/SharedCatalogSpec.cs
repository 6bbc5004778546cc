using System.Text.RegularExpressions;
using Akka.Actor;
using Akka.Configuration;

namespace ActorCkpt.Actors.Tests;

/// <summary>
/// A catalog kept outside its root (here a SQLite file named elsewhere; PostgreSQL in
/// <see cref="PostgresCatalogSpec"/>) is opened only from the root it was last opened from: a copy of
/// the root, which carries the root's id and so shares the catalog, is refused before it changes anything.
/// </summary>
public sealed class SharedCatalogSpec : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private static readonly IReadOnlyList<(string Key, DType DType, Layout Layout, long Rows, long Cols)> Model =
        TestStates.Model(new[] { DType.Float32 }, new[] { Layout.Rows });

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "actorckpt-shared-" + Guid.NewGuid().ToString("N"));

    public SharedCatalogSpec()
    {
        Directory.CreateDirectory(_dir);
        CatalogFile = Path.Combine(_dir, "catalogs.db");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string CatalogFile { get; set; }

    /// <summary>A node on <paramref name="root"/> with its catalog in the shared file; one try at starting its planner.</summary>
    private (ActorSystem System, CheckpointNode Node) Start(string root, bool inRoot = false, Func<IBlobStore, IBlobStore>? wrap = null)
    {
        var hocon = "akka.loglevel = OFF\nactorckpt.planner.start-attempts = 1\nactorckpt.retention.keep-last = 1\n"
                    + (inRoot ? "" : $"actorckpt.catalog.connection-string = \"Data Source={CatalogFile}\"");
        var config = ActorCkptConfig.WithCatalog(ConfigurationFactory.ParseString(hocon).WithFallback(ActorCkptConfig.Defaults), root);
        var system = ActorSystem.Create("shared", config);
        IBlobStore blobs = new LocalBlobStore(root);
        return (system, CheckpointNode.Start(system, wrap?.Invoke(blobs) ?? blobs, ActorCkptSettings.Create(system), "n"));
    }

    /// <summary>Saves <paramref name="step"/> on <paramref name="root"/> and stops its node.</summary>
    private async Task SaveAsync(string root, long step, bool inRoot = false)
    {
        var (system, node) = Start(root, inRoot);
        var states = TestStates.Build(Model, 1, seed: (int)step);
        await node.Save(step, states[0]).Committed.WaitAsync(Patience);
        TestStates.Dispose(states);
        await system.Terminate().WaitAsync(Patience);
    }

    /// <summary>A node on <paramref name="original"/> that saved step 1 of its states, still running, and a copy of the root made then.</summary>
    private async Task<(ActorSystem System, CheckpointNode Node, RankState[] States)> SavedAndCopiedAsync(string original, string copy)
    {
        var (system, node) = Start(original);
        var states = TestStates.Build(Model, 1, seed: 1);
        await node.Save(1, states[0]).Committed.WaitAsync(Patience);
        RootCopy.Make(original, copy);
        return (system, node, states);
    }

    /// <summary>Why the planner of a node on <paramref name="root"/> gave up, or null when it runs; the node is stopped.</summary>
    private async Task<string?> GaveUpAsync(string root)
    {
        var (system, node) = Start(root);
        var gaveUp = await node.PlannerGaveUpAsync(Patience);
        await system.Terminate().WaitAsync(Patience);
        return gaveUp;
    }

    /// <summary>Every file under <paramref name="root"/> with its bytes, but the lock the refused planner took (its first act, before it reads the catalog).</summary>
    private static (string, string)[] Files(string root) => Directory.GetFiles(root, "*", SearchOption.AllDirectories)
        .Where(f => !Path.GetFileName(f).StartsWith(CheckpointLayout.CatalogLockFile, StringComparison.Ordinal)).Order()
        .Select(f => (f, Convert.ToHexString(File.ReadAllBytes(f)))).ToArray();

    private static string[] Steps(string root) => Directory.GetDirectories(root, "step-*").Select(Path.GetFileName).Order().ToArray()!;

    [Fact]
    public async Task A_copy_of_a_root_should_be_refused_once_the_original_opened_the_shared_catalog_again_and_change_nothing()
    {
        var original = Path.Combine(_dir, "original");
        var copy = Path.Combine(_dir, "copy");
        await SaveAsync(original, 1);
        RootCopy.Make(original, copy);
        // The original saves on; its retention (keep-last 1) deletes step 1, which the copy still has.
        await SaveAsync(original, 2);
        var copyFiles = Files(copy);

        var gaveUp = await GaveUpAsync(copy);

        // Before, the copy's planner recovered the original's catalog and its retention would have gone on from there.
        Assert.NotNull(gaveUp);
        // Refused for good, at once: no later try changes a copy.
        Assert.Matches("^the checkpoint planner could not start: " + Regex.Escape($"checkpoint root '{copy}' shares its catalog ('{CatalogFile}') with another root: " +
                       "the catalog's journal went on to event ") + "\\d+" + Regex.Escape(" without this root, which marked it up to event ") + "\\d+" +
                       Regex.Escape($" (last opened from '{original}' at ") + "\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ" +
                       Regex.Escape("), so it is a copy of that root or a restored backup (the retention of one would delete the other's steps). " +
                                    $"Give it a catalog of its own with: actorckpt catalog rebuild {copy} --config FILE, FILE being the configuration that names this catalog") + "$", gaveUp);
        Assert.Equal(copyFiles, Files(copy));
        Assert.Equal(new[] { "step-00000001" }, Steps(copy));
        // The original opens as before.
        Assert.Null(await GaveUpAsync(original));
        await SaveAsync(original, 3);
    }

    [Fact]
    public async Task A_copy_made_while_the_original_runs_should_be_refused_once_the_original_saved_again()
    {
        // A backup taken in the middle of a run, restored after the run went on: the original's planner never restarted.
        var original = Path.Combine(_dir, "running");
        var backup = Path.Combine(_dir, "backup");
        var (system, node, states) = await SavedAndCopiedAsync(original, backup);
        await node.Save(2, states[0]).Committed.WaitAsync(Patience);
        TestStates.Dispose(states);
        await system.Terminate().WaitAsync(Patience);

        // Before (no check, or one made only when a planner starts), the backup opened, and its planner removed its step 1 as the original's retention had deleted it.
        Assert.Contains($"checkpoint root '{backup}' shares its catalog", await GaveUpAsync(backup));
        Assert.Equal(new[] { "step-00000001" }, Steps(backup));
    }

    [Fact]
    public async Task A_copy_started_while_the_original_runs_should_be_refused_and_the_original_should_save_on()
    {
        // Copied between two saves and started at once: the two are alike, so the mark check passes the copy.
        var original = Path.Combine(_dir, "live");
        var copy = Path.Combine(_dir, "fork");
        var (system, node, states) = await SavedAndCopiedAsync(original, copy);
        var copyFiles = Files(copy);

        var gaveUp = await GaveUpAsync(copy);

        // Before, the copy's planner opened the catalog and journaled its opening under the event number the
        // original wrote next: the original's next save failed, and each catalog took in the other's events.
        var claim = Path.Combine(_dir, $"catalogs.db.{CheckpointNode.CatalogId(node.Store, "n")}.claim");
        Assert.Matches("^the checkpoint planner could not start \\(.*\\): " + Regex.Escape($"another planner holds the catalog ('{CatalogFile}') of checkpoint root '{copy}' " +
                       $"('{claim}' is locked by pid {Environment.ProcessId} on host ") + ".*" +
                       Regex.Escape("): this root's own planner elsewhere, still stopping (a lost machine's for up to about 11 s), or the planner of a root of the same id, " +
                                    "a copy of this one or the root it was copied from; two planners on one catalog would each journal over the other's events. " +
                                    "If the other root is the copy, stop its job and rebuild its catalog; if this one is, give it a catalog of its own with: " +
                                    $"actorckpt catalog rebuild {copy} --config FILE, FILE being the configuration that names this catalog") + "$",
            gaveUp);
        Assert.Equal(copyFiles, Files(copy));
        await node.Save(2, states[0]).Committed.WaitAsync(Patience);
        // Its own catalog, nothing else in it (retention, keep-last 1, deleted step 1).
        Assert.Equal(new[] { (1L, CheckpointStatus.Deleted), (2L, CheckpointStatus.Committed) },
            (await node.Planner.Ask<CatalogRead>(new ReadCatalog(), Patience)).Entries.Select(e => (e.Step, e.Status)));
        TestStates.Dispose(states);
        await system.Terminate().WaitAsync(Patience);

        // The claim goes with the planner: the next planner on that catalog is not held up (here the copy's, refused now as a copy).
        Assert.Contains($"checkpoint root '{copy}' shares its catalog ('{CatalogFile}') with another root: the catalog's journal went on", await GaveUpAsync(copy));
        Assert.Null(await GaveUpAsync(original));
    }

    [Fact]
    public async Task Two_roots_keeping_their_catalogs_in_one_file_should_run_at_once()
    {
        // Each journal in the file is claimed on its own: other roots' planners are not held up.
        var (first, one) = Start(Path.Combine(_dir, "one"));
        var (second, two) = Start(Path.Combine(_dir, "two"));
        var states = TestStates.Build(Model, 1, seed: 2);
        await Task.WhenAll(one.Save(1, states[0]).Committed, two.Save(1, states[0]).Committed).WaitAsync(Patience);
        Assert.Null(await one.PlannerGaveUpAsync(Patience));
        Assert.Null(await two.PlannerGaveUpAsync(Patience));
        TestStates.Dispose(states);
        await Task.WhenAll(first.Terminate(), second.Terminate()).WaitAsync(Patience);
    }

    [Fact]
    public async Task A_catalog_file_whose_name_leaves_no_room_for_the_claim_s_name_should_still_be_claimed()
    {
        // 240 bytes, which SQLite takes (it adds "-journal"): the claim's name beside it would be 300.
        CatalogFile = Path.Combine(_dir, new string('c', 237) + ".db");
        var root = Path.Combine(_dir, "long");

        // Before, the lock file's open failed "File name too long", taken for a lock held: "shares its catalog with another root… whose planner runs now".
        Assert.Null(await GaveUpAsync(root));
        await SaveAsync(root, 1);
        var claim = Assert.Single(Directory.GetFiles(_dir, "*.claim"));
        Assert.Matches("^[0-9a-f]{16}\\.claim$", Path.GetFileName(claim));
    }

    [Fact]
    public async Task A_root_moved_whole_should_open_its_catalog_from_the_new_place()
    {
        var before = Path.Combine(_dir, "before");
        var after = Path.Combine(_dir, "after");
        await SaveAsync(before, 1);
        Directory.Move(before, after);

        Assert.Null(await GaveUpAsync(after));
        await SaveAsync(after, 2);
    }

    [Fact]
    public async Task A_root_marked_ahead_of_the_journal_should_open_and_its_mark_should_never_go_down()
    {
        var root = Path.Combine(_dir, "root");
        await SaveAsync(root, 1);
        // As a planner leaves it that stopped with writes asked for that never landed, or whose late writes a
        // later planner (a singleton moved to another node) must still allow for: marked past the journal's end.
        var store = new CheckpointStore(new LocalBlobStore(root));
        var ahead = store.ReadMark()!.Value + 50;
        store.WriteMark(ahead);

        Assert.Null(await GaveUpAsync(root));
        await SaveAsync(root, 2);
        // Before, each planner wrote its own view: a later start found the first planner's late writes past it, and refused the root as a copy.
        Assert.Equal(ahead, store.ReadMark());
    }

    [Fact]
    public async Task A_save_whose_planner_stops_because_the_mark_cannot_be_written_should_fail_naming_why()
    {
        var root = Path.Combine(_dir, "full");
        MarkFailingStore? store = null;
        var (system, node) = Start(root, wrap: blobs => store = new MarkFailingStore(blobs));
        var states = TestStates.Build(Model, 1, seed: 3);
        await node.Save(1, states[0]).Committed.WaitAsync(Patience);
        store!.Failing = true;

        var failed = await Assert.ThrowsAsync<CheckpointFailedException>(() => node.Save(2, states[0]).Committed.WaitAsync(Patience));

        // Before: "the planner akka://shared/user/actorckpt-planner/planner was lost".
        Assert.StartsWith($"the planner stopped (the root's {CheckpointLayout.MarkFile} could not be written, so nothing more is journaled: No space left on device (test))", failed.Reason);
        TestStates.Dispose(states);
        await system.Terminate().WaitAsync(Patience);
    }

    /// <summary>A store whose writes of the root's catalog mark fail once <see cref="Failing"/> is set, as on a full disk.</summary>
    private sealed class MarkFailingStore(IBlobStore inner) : DelegatingBlobStore(inner)
    {
        public volatile bool Failing;

        public override void Rename(string from, string to, bool overwrite)
        {
            if (Failing && to == CheckpointLayout.MarkFile) throw new IOException("No space left on device (test)");
            base.Rename(from, to, overwrite);
        }
    }

    [Fact]
    public async Task A_root_with_its_own_catalog_should_write_no_opening()
    {
        // Its catalog.db goes with any copy of it: nothing to tell apart, nothing written.
        var root = Path.Combine(_dir, "own");
        await SaveAsync(root, 1, inRoot: true);
        Assert.True(File.Exists(Path.Combine(root, CheckpointLayout.CatalogFile)));
        Assert.False(File.Exists(Path.Combine(root, CheckpointLayout.MarkFile)));
    }
}

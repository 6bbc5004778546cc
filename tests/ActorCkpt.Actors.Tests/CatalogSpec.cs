using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Microsoft.Data.Sqlite;

namespace ActorCkpt.Actors.Tests;

public class CatalogSpec : NodeSpec
{
    private static readonly IReadOnlyList<(string Key, DType DType, Layout Layout, long Rows, long Cols)> Model =
        TestStates.Model(new[] { DType.Float32 }, new[] { Layout.Rows, Layout.Replicated });

    /// <summary>A node in an actor system of its own over <see cref="NodeSpec.Root"/>, as a process of its own would have (<paramref name="extra"/> over the tests' settings).</summary>
    private (ActorSystem System, CheckpointNode Node) StartProcess(string extra = "", Func<IBlobStore, IBlobStore>? wrap = null)
    {
        var system = ActorSystem.Create("proc", ActorCkptConfig.WithCatalog(
            ConfigurationFactory.ParseString(TestConfig + "\n" + extra).WithFallback(ActorCkptConfig.Defaults), Root));
        IBlobStore blobs = new LocalBlobStore(Root);
        return (system, CheckpointNode.Start(system, wrap?.Invoke(blobs) ?? blobs));
    }

    private static async Task<IReadOnlyList<CatalogEntry>> ReadCatalog(CheckpointNode node) =>
        (await node.Planner.Ask<CatalogRead>(new ReadCatalog(), Patience)).Entries;

    [Fact]
    public async Task Commits_should_be_journaled_with_their_metadata_checksum_and_recovered_after_a_restart_from_snapshots()
    {
        var (first, node) = StartProcess("actorckpt.catalog.snapshot-every = 2");
        var states = TestStates.Build(Model, 2, seed: 1);
        for (var step = 1; step <= 5; step++) await SaveAllAsync(node, step, states);
        var before = await ReadCatalog(node);
        await first.Terminate();

        var (second, again) = StartProcess("actorckpt.catalog.snapshot-every = 2");
        var after = await ReadCatalog(again);
        await second.Terminate();

        Assert.Equal(Enumerable.Range(1, 5).Select(i => (long)i), before.Select(e => e.Step));
        Assert.All(before, e => Assert.Equal(CheckpointStatus.Committed, e.Status));
        Assert.All(before, e => Assert.Equal(CheckpointStore.Checksum(node.Store.ReadMetadataBytes(e.Step)), e.MetadataChecksum));
        Assert.Equal(before, after);
        await using var db = new SqliteConnection($"Data Source={Path.Combine(Root, CheckpointLayout.CatalogFile)}");
        await db.OpenAsync();
        var snapshots = db.CreateCommand();
        snapshots.CommandText = "select count(*) from snapshot";
        Assert.True((long)(await snapshots.ExecuteScalarAsync())! >= 1);
        TestStates.Dispose(states);
    }

    [Fact]
    public async Task Recovery_should_replay_at_most_snapshot_every_events_though_the_job_restarts_after_each_save()
    {
        var states = TestStates.Build(Model, 2, seed: 1);
        for (var step = 1; step <= 3; step++)
        {
            // Two events a save (started, committed): before, a count starting at 0 each run never reached 4.
            var (system, node) = StartProcess("actorckpt.catalog.snapshot-every = 4");
            await SaveAllAsync(node, step, states);
            await system.Terminate();
        }

        await using var db = new SqliteConnection($"Data Source={Path.Combine(Root, CheckpointLayout.CatalogFile)};Mode=ReadOnly;Pooling=False");
        await db.OpenAsync();
        var after = db.CreateCommand();
        after.CommandText = "select count(*) from journal where sequence_number > coalesce((select max(sequence_number) from snapshot), 0)";
        Assert.InRange((long)(await after.ExecuteScalarAsync())!, 0, 4);
        TestStates.Dispose(states);
    }

    [Fact]
    public async Task A_catalog_a_process_left_mid_write_should_read_as_its_last_commit()
    {
        var (first, node) = StartProcess();
        await SaveAllAsync(node, 1, TestStates.Build(Model, 2, seed: 7));
        var persistenceId = CheckpointNode.CatalogId(node.Store);
        await first.Terminate();
        var catalog = Path.Combine(Root, "catalog.db");
        var connection = ActorCkptConfig.CatalogConnection(ActorCkptConfig.WithCatalog(ConfigurationFactory.ParseString(TestConfig).WithFallback(ActorCkptConfig.Defaults), Root), Root).ConnectionString;
        var committed = SqliteCatalogJournal.Read(connection, persistenceId).Entries;

        // As a process killed mid-write leaves it: the database with a change not committed, and its hot
        // journal holding the pages as they were (copied while a writer's transaction is open).
        var copy = Path.Combine(Root, "copy");
        Directory.CreateDirectory(copy);
        using (var writer = new SqliteConnection($"Data Source={catalog};Pooling=False"))
        {
            writer.Open();
            using var change = writer.CreateCommand();
            change.CommandText = "PRAGMA journal_mode = DELETE; PRAGMA cache_size = 1; BEGIN IMMEDIATE; DELETE FROM journal; CREATE TABLE filler(x BLOB); INSERT INTO filler VALUES (zeroblob(200000));";
            change.ExecuteNonQuery();
            File.Copy(catalog, Path.Combine(copy, "catalog.db"));
            File.Copy(catalog + "-journal", Path.Combine(copy, "catalog.db-journal"));
        }
        Assert.True(File.Exists(Path.Combine(copy, "catalog.db-journal")));

        // Before: "SQLite Error 8: 'attempt to write a readonly database'", and ls, inspect, verify refused the root.
        var read = SqliteCatalogJournal.Read($"Data Source={Path.Combine(copy, "catalog.db")}", persistenceId).Entries;
        Assert.Equal(committed.Select(e => (e.Step, e.Status, e.MetadataChecksum)), read.Select(e => (e.Step, e.Status, e.MetadataChecksum)));
        Assert.False(File.Exists(Path.Combine(copy, "catalog.db-journal")));
    }

    [Fact]
    public async Task The_catalog_read_straight_from_its_sqlite_file_should_be_the_one_the_journal_recovers()
    {
        // Snapshots every 3 events and retention's deletions: the file holds a snapshot, events after
        // it, and deleted steps, all of which the direct read must recover as the journal does.
        var (first, node) = StartProcess("actorckpt.catalog.snapshot-every = 3\nactorckpt.retention { keep-last = 2, grace-after-start = 0s }");
        var states = TestStates.Build(Model, 2, seed: 7);
        for (var step = 1; step <= 5; step++) await SaveAllAsync(node, step, states);
        AwaitCondition(() => node.Store.CommittedSteps().SequenceEqual(new long[] { 4, 5 }), Patience);
        var persistenceId = CheckpointNode.CatalogId(node.Store);
        await first.Terminate();

        var config = ActorCkptConfig.WithCatalog(ConfigurationFactory.ParseString(TestConfig).WithFallback(ActorCkptConfig.Defaults), Root);
        var reading = ActorSystem.Create("reader", config);
        var recovered = await reading.ActorOf(CatalogReaderActor.Props(persistenceId)).Ask<JournalRead>(ReadJournal.Instance, Patience);
        await reading.Terminate();

        Assert.True(SqliteCatalogJournal.Applies(config));
        var direct = SqliteCatalogJournal.Read(ActorCkptConfig.CatalogConnection(config, Root).ConnectionString, persistenceId);
        Assert.Equal(recovered.Entries, direct.Entries);
        // Where the journal ends, as recovery finds it: what a reader compares with the root's mark.
        Assert.True(direct.LastEvent > 0);
        Assert.Equal(recovered.LastEvent, direct.LastEvent);
        Assert.Equal(new[] { CheckpointStatus.Deleted, CheckpointStatus.Deleted, CheckpointStatus.Deleted, CheckpointStatus.Committed, CheckpointStatus.Committed },
            direct.Entries.Select(e => e.Status));
        await using var db = new SqliteConnection($"Data Source={Path.Combine(Root, CheckpointLayout.CatalogFile)};Mode=ReadOnly");
        await db.OpenAsync();
        var later = db.CreateCommand();
        later.CommandText = "select count(*) from journal where sequence_number > (select max(sequence_number) from snapshot)";
        Assert.True((long)(await later.ExecuteScalarAsync())! >= 1, "no event after the last snapshot: the test would not check that part of the read");
        TestStates.Dispose(states);
    }

    [Fact]
    public async Task Retention_should_journal_deletions_and_never_remove_a_checkpoint_while_a_rank_loads_it()
    {
        var gate = new GatedStore.Gate();
        var (system, node) = StartProcess("actorckpt.retention { keep-last = 1, grace-after-start = 0s }", blobs => new GatedStore(blobs, gate, GatedStore.Kind.Reads));
        var states = TestStates.Build(Model, 2, seed: 2);
        await SaveAllAsync(node, 1, states);

        // A load of step 1 (by rank 2 of 3: ranks 0 and 1 keep saving) hangs in its first data-file
        // read while step 2 commits and retention deletes step 1.
        var targets = TestStates.Empty(Model, 3);
        var load = LoadAllAsync(node, targets.Skip(2), step: 1);
        await gate.Entered.WaitAsync(Patience);
        await SaveAllAsync(node, 2, TestStates.Build(Model, 2, seed: 3));
        Assert.Equal(CheckpointStatus.Deleted, (await ReadCatalog(node)).Single(e => e.Step == 1).Status);
        Assert.True(node.Store.IsCommitted(1), "step 1 was removed while a rank was loading it");

        gate.Open();
        await load;
        Assert.Empty(TestStates.Differences(Model, targets.Skip(2), seed: 2));
        AwaitCondition(() => !Directory.Exists(Path.Combine(Root, CheckpointLayout.StepDirectory(1))), Patience);
        Assert.Equal(new long[] { 2 }, node.Store.CommittedSteps());
        var refused = await Assert.ThrowsAsync<CheckpointNotFoundException>(() => node.LoadAsync(targets[2], step: 1));
        Assert.Contains("step 1 is not a committed checkpoint", refused.Message);
        Assert.Contains("deleted", refused.Message);
        await system.Terminate();
        TestStates.Dispose(states.Concat(targets));
    }

    [Fact]
    public async Task A_stopping_planner_should_let_go_of_the_root_only_once_its_step_removals_have_ended()
    {
        RemovalHoldingStore? store = null;
        var (system, node) = StartProcess("actorckpt.retention { keep-last = 1, grace-after-start = 0s }\nakka.loglevel = INFO",
            blobs => store = new RemovalHoldingStore(blobs, CheckpointLayout.StepDirectory(1)));
        var states = TestStates.Build(Model, 2, seed: 21);
        await SaveAllAsync(node, 1, states);
        store!.Arm();
        await SaveAllAsync(node, 2, states);
        await store.Entered.WaitAsync(Patience); // retention removes step 1's directory, held there
        var log = CreateTestProbe();
        system.EventStream.Subscribe(log.Ref, typeof(Info));

        var terminated = system.Terminate();
        // Before, the planner let go of the root's lock at once, the removal still running; now it waits for it.
        var waiting = Task.Run(() => log.FishForMessage<Info>(i => i.Message.ToString()!.StartsWith("Stopping: waiting up to", StringComparison.Ordinal), Patience));
        await Task.WhenAny(store.Unlocked, waiting).WaitAsync(Patience);
        store.Open();
        await terminated.WaitAsync(Patience);

        Assert.Equal(new[] { "removed step-00000001", "unlocked catalog.lock" }, store.Events);
        Assert.False(Directory.Exists(Path.Combine(Root, CheckpointLayout.StepDirectory(1))));
        TestStates.Dispose(states);
    }

    /// <summary>A store whose removal of <paramref name="directory"/>, once armed, waits for <see cref="Open"/>; it records that removal and each lock let go since, in order.</summary>
    private sealed class RemovalHoldingStore(IBlobStore inner, string directory) : DelegatingBlobStore(inner)
    {
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _unlocked = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ManualResetEventSlim _open = new();
        private readonly ConcurrentQueue<string> _events = new();
        private volatile bool _armed;

        public Task Entered => _entered.Task;

        public Task Unlocked => _unlocked.Task;

        public IReadOnlyList<string> Events => _events.ToArray();

        public void Open() => _open.Set();

        /// <summary>From now on (a save clears its step's directory before writing it).</summary>
        public void Arm() => _armed = true;

        public override void DeleteDirectory(string path)
        {
            if (!_armed || path != directory)
            {
                base.DeleteDirectory(path);
                return;
            }
            _entered.TrySetResult();
            _open.Wait();
            base.DeleteDirectory(path);
            _events.Enqueue("removed " + path);
        }

        public override IDisposable Lock(string path) => new Releasing(base.Lock(path), () =>
        {
            if (!_armed) return; // the node's start probes the lock too
            _events.Enqueue("unlocked " + path);
            _unlocked.TrySetResult();
        });

        private sealed class Releasing(IDisposable held, Action released) : IDisposable
        {
            public void Dispose()
            {
                held.Dispose();
                released();
            }
        }
    }

    [Fact]
    public async Task A_save_retention_would_delete_as_it_committed_is_refused_before_anything_is_written()
    {
        var (system, node) = StartProcess("actorckpt.retention { keep-last = 1, grace-after-start = 0s }");
        var states = TestStates.Build(Model, 2, seed: 2);
        await SaveAllAsync(node, 5, states);

        // Before, step 3 was announced committed and deleted in the same breath.
        var refused = await Assert.ThrowsAsync<CheckpointFailedException>(() => SaveAllAsync(node, 3, TestStates.Build(Model, 2, seed: 3)));
        Assert.Equal("step 3 would be deleted as soon as it committed: retention keeps the newest 1 (actorckpt.retention.keep-last) and 1 newer step is committed (5)",
            refused.Reason);
        Assert.False(Directory.Exists(Path.Combine(Root, CheckpointLayout.StepDirectory(3))));
        var catalog = await ReadCatalog(node);
        Assert.NotEqual(CheckpointStatus.Committed, catalog.Single(e => e.Step == 3).Status);
        Assert.Equal(CheckpointStatus.Committed, catalog.Single(e => e.Step == 5).Status);
        var targets = TestStates.Empty(Model, 2);
        await LoadAllAsync(node, targets);
        Assert.Empty(TestStates.Differences(Model, targets, seed: 2));
        await system.Terminate();
        TestStates.Dispose(states.Concat(targets));
    }

    [Fact]
    public async Task A_planner_whose_catalog_cannot_be_recovered_should_give_up_after_its_tries_and_refuse_every_save_naming_why()
    {
        var (system, node) = StartProcess("""
            akka.persistence.journal.actorckpt-catalog.class = "ActorCkpt.Actors.Tests.RecoveryFailingJournal, ActorCkpt.Actors.Tests"
            actorckpt.planner { start-attempts = 2, start-backoff = 10ms }
            """);
        // Asked while the first planner is still starting: held, not lost with it, and answered by the stand-in.
        var listed = node.Planner.Ask<WritersListed>(new ListWriters(), Patience);
        var why = await node.PlannerGaveUpAsync(Patience);
        Assert.Empty((await listed).Writers);
        Assert.Equal($"the checkpoint planner could not start (2 tries; it tries again every 30 s): its catalog '{Path.Combine(Root, CheckpointLayout.CatalogFile)}' could not be recovered: {RecoveryFailingJournal.Error}", why);

        var states = TestStates.Build(Model, 1, seed: 3);
        var refused = await Assert.ThrowsAsync<CheckpointFailedException>(() => node.Save(1, states[0]).Committed.WaitAsync(Patience));
        Assert.Equal(why, refused.Reason);
        Assert.False(Directory.Exists(Path.Combine(Root, CheckpointLayout.StepDirectory(1))));
        await system.Terminate();
        TestStates.Dispose(states);
    }

    [Fact]
    public async Task A_catalog_record_that_cannot_be_decoded_should_fail_the_start_at_once_naming_the_rebuild()
    {
        var (first, node) = StartProcess("actorckpt.catalog.snapshot-every = 1000");
        var states = TestStates.Build(Model, 1, seed: 4);
        await SaveAllAsync(node, 1, states);
        await first.Terminate();
        // The commit's record cut short: the file stays a sound SQLite database, its payload no longer JSON.
        await using (var db = new SqliteConnection($"Data Source={Path.Combine(Root, CheckpointLayout.CatalogFile)};Pooling=False"))
        {
            await db.OpenAsync();
            var cut = db.CreateCommand();
            cut.CommandText = "update journal set message = cast('{\"step\":1,\"save_id\":' as blob) where ordering = (select max(ordering) from journal)";
            Assert.Equal(1, await cut.ExecuteNonQueryAsync());
        }

        var (second, again) = StartProcess("actorckpt.planner { start-attempts = 5, start-backoff = 10ms }");
        var why = await again.PlannerGaveUpAsync(Patience);
        await second.Terminate();

        // Before: five tries, then "(5 tries; it tries again every 30 s)", and no word of the repair.
        Assert.StartsWith($"the checkpoint planner could not start: its catalog '{Path.Combine(Root, CheckpointLayout.CatalogFile)}' could not be recovered: ", why);
        Assert.EndsWith($"; a record in it cannot be read: make a new catalog from the checkpoints on disk with actorckpt catalog rebuild {Root}", why);
        TestStates.Dispose(states);
    }

    [Fact]
    public async Task A_commit_whose_catalog_write_failed_should_be_reported_committed_and_recorded_by_the_restarted_planner()
    {
        var (system, node) = StartProcess("""
            akka.persistence.journal.actorckpt-catalog.class = "ActorCkpt.Actors.Tests.CommitFailingJournal, ActorCkpt.Actors.Tests"
            """);
        var states = TestStates.Build(Model, 2, seed: 11);
        // The metadata is renamed into place before the journal fails: the save is committed, and says so.
        var result = await SaveAllAsync(node, 1, states);
        Assert.Equal(1, result.Step);
        Assert.True(node.Store.IsCommitted(1));
        // The planner stops on the failure; its successor's recovery records the commit from the disk.
        await AwaitAssertAsync(async () =>
        {
            // Asked again and again: while the planner is stopped, its supervisor drops what it is sent.
            var entry = Assert.Single((await node.Planner.Ask<CatalogRead>(new ReadCatalog(), TimeSpan.FromSeconds(2))).Entries);
            Assert.Equal((1L, CheckpointStatus.Committed), (entry.Step, entry.Status));
            Assert.Equal("committed on disk when its planner stopped; recorded on recovery", entry.Reason);
        }, Patience, TimeSpan.FromMilliseconds(200));
        await SaveAllAsync(node, 2, states);
        await system.Terminate();
        TestStates.Dispose(states);
    }

    [Fact]
    public async Task A_planner_stopped_by_a_journal_that_cannot_write_should_name_the_cause_in_its_supervisor_s_line()
    {
        var (system, node) = StartProcess("""
            akka.persistence.journal.actorckpt-catalog.class = "ActorCkpt.Actors.Tests.WriteFailingJournal, ActorCkpt.Actors.Tests"
            akka.loglevel = WARNING
            """);
        var log = CreateTestProbe(system);
        system.EventStream.Subscribe(log.Ref, typeof(Akka.Event.Warning));
        var states = TestStates.Build(Model, 1, seed: 13);

        var failed = await Assert.ThrowsAsync<CheckpointFailedException>(() => node.Save(1, states[0]).Committed.WaitAsync(Patience));

        // The failure names the catalog whose disk is full: the checkpoint root's may be another disk.
        Assert.EndsWith($"No space left on device (catalog '{Path.Combine(Root, CheckpointLayout.CatalogFile)}')", failed.Reason);
        // Before: "the checkpoint planner could not start (try 1 of 5; ...): it stopped", and after the last try
        // every save was refused with "it stopped while starting", the full disk named nowhere.
        var line = log.FishForMessage<Akka.Event.Warning>(w => w.Message.ToString()!.StartsWith("the checkpoint planner could not start", StringComparison.Ordinal), Patience);
        Assert.EndsWith($"its catalog '{Path.Combine(Root, CheckpointLayout.CatalogFile)}' could not be written (SaveStarted): No space left on device", line.Message.ToString());
        await system.Terminate();
        TestStates.Dispose(states);
    }

    [Fact]
    public async Task A_commit_should_be_heard_only_once_the_deletions_retention_decided_on_are_journaled()
    {
        var (system, node) = StartProcess("""
            actorckpt.retention { keep-last = 1, grace-after-start = 0s }
            akka.persistence.journal.actorckpt-catalog.class = "ActorCkpt.Actors.Tests.DeletionHoldingJournal, ActorCkpt.Actors.Tests"
            """);
        var held = CreateTestProbe(system);
        system.EventStream.Subscribe(held.Ref, typeof(DeletionWriteHeld));
        var states = TestStates.Build(Model, 2, seed: 10);
        await SaveAllAsync(node, 1, states);

        var handles = states.Select(s => node.Save(2, s)).ToArray();
        var deletion = held.ExpectMsg<DeletionWriteHeld>(Patience);
        // Whatever the planner told a shard before the deletion went to the journal is ahead of this
        // question in the shard's mailbox, so a commit heard early would show by the answer.
        foreach (var s in states) await node.Shard(s.Rank).Ask<ActorIdentity>(new Identify(null), Patience);
        Assert.All(handles, h => Assert.False(h.Committed.IsCompleted, $"rank {h.Rank} heard the commit before step 1's deletion was journaled"));

        deletion.Release();
        await Task.WhenAll(handles.Select(h => h.Committed)).WaitAsync(Patience);
        Assert.Equal(CheckpointStatus.Deleted, (await ReadCatalog(node)).Single(e => e.Step == 1).Status);
        await system.Terminate();
        TestStates.Dispose(states);
    }

    [Fact]
    public async Task A_deletion_the_journal_refuses_should_leave_the_step_whole_and_be_reported_by_gc_as_not_done()
    {
        var (system, node) = StartProcess("""
            actorckpt.retention { keep-last = 1, grace-after-start = 0s }
            akka.persistence.journal.actorckpt-catalog.class = "ActorCkpt.Actors.Tests.DeletionRefusingJournal, ActorCkpt.Actors.Tests"
            """);
        var states = TestStates.Build(Model, 2, seed: 12);
        await SaveAllAsync(node, 1, states);
        await SaveAllAsync(node, 2, states);

        var collected = await node.Planner.Ask<GarbageCollected>(new CollectGarbage(), Patience);
        Assert.Empty(collected.Deleted);
        Assert.Equal(new[] { $"step 1: the catalog refused its deletion ({DeletionRefusingJournal.Error}); the step stays" }, collected.Failures);
        Assert.True(node.Store.IsCommitted(1));
        Assert.Equal(CheckpointStatus.Committed, (await ReadCatalog(node)).Single(e => e.Step == 1).Status);
        await system.Terminate();
        TestStates.Dispose(states);
    }

    [Fact]
    public async Task A_load_under_way_should_renew_its_lease_with_a_restarted_planner_which_then_keeps_its_step()
    {
        var gate = new GatedStore.Gate();
        var settings = ActorCkptSettings.Create(Sys) with
        {
            Retention = new RetentionPolicy(1, 0), RemovalGrace = TimeSpan.FromMinutes(10), PlanResendInterval = TimeSpan.FromMilliseconds(100),
        };
        var node = CheckpointNode.Start(Sys, new GatedStore(new LocalBlobStore(Root), gate, GatedStore.Kind.Reads), settings, "renew");
        var states = TestStates.Build(Model, 2, seed: 6);
        await SaveAllAsync(node, 1, states);
        var targets = TestStates.Empty(Model, 3);
        var load = LoadAllAsync(node, targets.Skip(2), step: 1);
        await gate.Entered.WaitAsync(Patience);
        await SaveAllAsync(node, 2, TestStates.Build(Model, 2, seed: 7));

        // The planner restarts (its supervisor starts a new one, which recovers the catalog): the
        // lease on step 1 is gone with the old one, and the loading rank renews it with the new one.
        await EventFilter.Warning(contains: "lease on step 1 renewed").ExpectAsync(1, () =>
        {
            Sys.ActorSelection(node.Planner.Path / "planner").Tell(Kill.Instance);
            return Task.CompletedTask;
        });
        // gc ends the grace after start at once: only the renewed lease keeps step 1 now.
        var collected = node.Planner.Ask<GarbageCollected>(new CollectGarbage(), Patience);
        Assert.Equal(CheckpointStatus.Deleted, (await ReadCatalog(node)).Single(e => e.Step == 1).Status);
        Assert.True(node.Store.IsCommitted(1), "step 1 was removed while a rank was loading it");

        gate.Open();
        await load;
        Assert.Empty(TestStates.Differences(Model, targets.Skip(2), seed: 6));
        // gc answers once the files of the steps it waited for are gone.
        Assert.Empty((await collected).Failures);
        Assert.False(Directory.Exists(Path.Combine(Root, CheckpointLayout.StepDirectory(1))));
        TestStates.Dispose(states.Concat(targets));
    }

    [Fact]
    public async Task A_committed_step_whose_metadata_is_gone_should_be_neither_removed_as_debris_nor_counted_by_retention()
    {
        var states = TestStates.Build(Model, 2, seed: 8);
        var (first, node) = StartProcess();
        for (var step = 1; step <= 3; step++) await SaveAllAsync(node, step, states);
        await first.Terminate();
        // Step 3's metadata is removed by hand (its data files stay); the next planner keeps one step.
        File.Delete(Path.Combine(Root, CheckpointLayout.InStep(3, CheckpointLayout.MetadataFile)));

        var (second, again) = StartProcess("actorckpt.retention.keep-last = 1");
        var collected = await again.Planner.Ask<GarbageCollected>(new CollectGarbage(), Patience);

        // Step 2, the newest whole one, is what keep-last keeps; step 3's files are left as they are.
        Assert.Empty(collected.DebrisRemoved);
        Assert.Equal([1L], collected.Deleted);
        var catalog = (await ReadCatalog(again)).ToDictionary(e => e.Step);
        Assert.Equal((CheckpointStatus.Deleted, CheckpointStatus.Committed, CheckpointStatus.Committed), (catalog[1].Status, catalog[2].Status, catalog[3].Status));
        Assert.True(again.Store.IsCommitted(2));
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(Root, CheckpointLayout.StepDirectory(3)), "*.safetensors"));
        Assert.Equal(2, again.Store.LatestStep());
        await second.Terminate();
        TestStates.Dispose(states);
    }

    [Fact]
    public async Task A_metadata_document_changed_after_its_commit_should_be_refused_on_load()
    {
        var node = StartNode();
        var states = TestStates.Build(Model, 2, seed: 4);
        await SaveAllAsync(node, 1, states);
        var path = Path.Combine(Root, CheckpointLayout.InStep(1, CheckpointLayout.MetadataFile));
        // Another creation time, sealed again: still the same checkpoint to a parser, only the catalog's checksum can tell.
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[32] ^= 1;
        var sealedLength = MetadataBinary.SealedLength(bytes)!.Value;
        BitConverter.TryWriteBytes(bytes.AsSpan(sealedLength), BlockChecksums.Of(bytes.AsSpan(0, sealedLength)));
        await File.WriteAllBytesAsync(path, bytes);

        var targets = TestStates.Empty(Model, 2);
        var e = await Assert.ThrowsAsync<CheckpointFormatException>(() => node.LoadAsync(targets[0]));

        Assert.Contains(CheckpointLayout.MetadataFile, e.Message);
        Assert.Contains("the catalog recorded at commit", e.Message);
        TestStates.Dispose(states.Concat(targets));
    }

    [Fact]
    public async Task The_catalog_lock_should_be_held_while_a_planner_runs_and_freed_when_its_system_stops()
    {
        var (first, node) = StartProcess();
        var states = TestStates.Build(Model, 2, seed: 5);
        await SaveAllAsync(node, 1, states);

        var e = Assert.Throws<LockHeldException>(() => new LocalBlobStore(Root).Lock(CheckpointLayout.CatalogLockFile));
        Assert.StartsWith($"'{Path.Combine(Path.GetFullPath(Root), CheckpointLayout.CatalogLockFile)}' is locked by pid {Environment.ProcessId} on host {Environment.MachineName}", e.Message);

        await first.Terminate();
        new LocalBlobStore(Root).Lock(CheckpointLayout.CatalogLockFile).Dispose();
        TestStates.Dispose(states);
    }
}

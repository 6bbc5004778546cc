
namespace ActorCkpt.Planner.Tests;

public class CatalogSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 23, 0, 0, 0, TimeSpan.Zero);
    private static readonly Guid A = Guid.NewGuid();
    private static readonly Guid B = Guid.NewGuid();

    [Fact]
    public void Events_should_move_a_step_through_its_statuses()
    {
        var catalog = new CheckpointCatalog();
        catalog.Apply(new SaveStarted(10, A, 4, "step-00000010", T0));
        Assert.Equal(CheckpointStatus.InFlight, catalog[10]!.Status);

        catalog.Apply(new SaveCommitted(10, A, "00000000000000ff", 8, 1000, T0.AddSeconds(1)));
        Assert.Equal(CheckpointStatus.Committed, catalog[10]!.Status);
        Assert.Equal((8, 1000L, "00000000000000ff"), (catalog[10]!.Files, catalog[10]!.Bytes, catalog[10]!.MetadataChecksum));
        Assert.Equal(new long[] { 10 }, catalog.CommittedSteps);

        catalog.Apply(new CheckpointDeleted(10, "retention", T0.AddSeconds(2)));
        Assert.Equal(CheckpointStatus.Deleted, catalog[10]!.Status);
        Assert.Equal("retention", catalog[10]!.Reason);
        Assert.Empty(catalog.CommittedSteps);
    }

    [Fact]
    public void A_retried_step_should_count_attempts_and_an_abort_of_another_attempt_should_not_undo_its_commit_or_deletion()
    {
        var catalog = new CheckpointCatalog();
        catalog.Apply(new SaveStarted(5, A, 2, "step-00000005", T0));
        catalog.Apply(new SaveAborted(5, A, "rank 1 could not write", T0));
        catalog.Apply(new SaveStarted(5, B, 2, "step-00000005", T0));
        catalog.Apply(new SaveCommitted(5, B, "0000000000000001", 2, 10, T0));
        catalog.Apply(new SaveAborted(5, A, "late word of the first attempt", T0));
        catalog.Apply(new CheckpointDeleted(5, "retention", T0));
        catalog.Apply(new SaveAborted(5, Guid.NewGuid(), "an attempt refused before it began writing", T0));

        Assert.Equal(CheckpointStatus.Deleted, catalog[5]!.Status);
        Assert.Equal(2, catalog[5]!.Attempts);
        Assert.Equal(B, catalog[5]!.SaveId);
    }

    [Fact]
    public void A_snapshot_should_restore_the_same_catalog()
    {
        var catalog = new CheckpointCatalog();
        catalog.Apply(new SaveStarted(1, A, 2, "step-00000001", T0));
        catalog.Apply(new SaveCommitted(1, A, "0000000000000001", 2, 10, T0));
        catalog.Apply(new SaveAborted(2, Guid.Empty, "ranks 1 did not send their plan", T0));

        var restored = new CheckpointCatalog(catalog.ToSnapshot());

        Assert.Equal(catalog.Entries, restored.Entries);
    }
}

public class RetentionPolicySpec
{
    [Fact]
    public void Keep_last_should_delete_the_oldest_and_keep_every_should_spare_its_multiples()
    {
        var steps = Enumerable.Range(1, 10).Select(i => (long)i * 10).ToArray();

        Assert.Equal(new long[] { 10, 20, 30, 40, 50, 60, 70 }, new RetentionPolicy(3, 0).StepsToDelete(steps));
        Assert.Equal(new long[] { 10, 30, 50, 70 }, new RetentionPolicy(3, 20).StepsToDelete(steps));
        Assert.Empty(RetentionPolicy.KeepAll.StepsToDelete(steps));
        Assert.Empty(new RetentionPolicy(20, 0).StepsToDelete(steps));
    }

    [Fact]
    public void A_step_retention_would_delete_at_its_commit_should_be_named_with_the_newer_steps()
    {
        long[] committed = [5, 7];
        Assert.Equal("step 3 would be deleted as soon as it committed: retention keeps the newest 2 (actorckpt.retention.keep-last) and 2 newer steps are committed (5, 7)",
            new RetentionPolicy(2, 0).DeletesOnCommit(3, committed));
        Assert.Equal("step 6 would be deleted as soon as it committed: retention keeps the newest 1 (actorckpt.retention.keep-last) and 1 newer step is committed (7)",
            new RetentionPolicy(1, 0).DeletesOnCommit(6, committed));
        // Newer than a kept one, kept by keep-every, kept by a keep-last it fits in, or no retention.
        Assert.Null(new RetentionPolicy(2, 0).DeletesOnCommit(6, committed));
        Assert.Null(new RetentionPolicy(1, 3).DeletesOnCommit(3, committed));
        Assert.Null(new RetentionPolicy(3, 0).DeletesOnCommit(3, committed));
        Assert.Null(RetentionPolicy.KeepAll.DeletesOnCommit(1, committed));
        // Saved again (the step is committed already: refused elsewhere), it is not counted twice.
        Assert.Null(new RetentionPolicy(2, 0).DeletesOnCommit(5, committed));
    }
}

public class CatalogReconcilerSpec
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 0, 0, 0, TimeSpan.Zero);
    private static readonly CommitOnDisk OnDisk = new("00000000000000aa", 3, 300);

    private static CheckpointCatalog Catalog(params ICatalogEvent[] events)
    {
        var c = new CheckpointCatalog();
        foreach (var e in events) c.Apply(e);
        return c;
    }

    [Fact]
    public void A_save_in_flight_should_be_committed_when_its_metadata_is_on_disk_and_aborted_otherwise()
    {
        var a = Guid.NewGuid();
        var b = Guid.NewGuid();
        var catalog = Catalog(new SaveStarted(1, a, 2, "step-00000001", Now), new SaveStarted(2, b, 2, "step-00000002", Now));

        var r = CatalogReconciler.Reconcile(catalog, new[] { new StepOnDisk(1, OnDisk), new StepOnDisk(2, null) }, Now);

        var committed = Assert.IsType<SaveCommitted>(r.Events.Single(e => e.Step == 1));
        Assert.Equal((a, "00000000000000aa", 3, 300L), (committed.SaveId, committed.MetadataChecksum, committed.Files, committed.Bytes));
        var aborted = Assert.IsType<SaveAborted>(r.Events.Single(e => e.Step == 2));
        Assert.Equal(CatalogReconciler.InterruptedReason, aborted.Reason);
        Assert.Equal(new long[] { 2 }, r.DirectoriesToRemove);
    }

    [Fact]
    public void A_memory_step_should_not_be_missing_from_the_disk_and_one_whose_persist_committed_there_should_be_recorded_persisted()
    {
        var a = Guid.NewGuid();
        var b = Guid.NewGuid();
        var c = Guid.NewGuid();
        var copies = new MemoryCopies(new[] { "h0", "h1" }, new[] { new ShardHolders("f", 0, new[] { 0, 1 }, Array.Empty<int>()) }, "00000000000000bb");
        var catalog = Catalog(
            new SaveStarted(1, a, 1, "memory/step-00000001", Now, StorageTier.Memory), new MemoryStepCommitted(1, a, 3, 300, copies, Now),
            new SaveStarted(2, b, 1, "memory/step-00000002", Now, StorageTier.Memory), new MemoryStepCommitted(2, b, 3, 300, copies, Now),
            new SaveStarted(3, c, 1, "memory/step-00000003", Now, StorageTier.Memory));

        // Step 1 only in memory; step 2's persist committed on disk; step 3's memory round was in flight (metadata
        // under its number is not its commit: a memory round commits in the journal); step 4 is a persist's debris.
        var r = CatalogReconciler.Reconcile(catalog, new[] { new StepOnDisk(2, OnDisk), new StepOnDisk(3, OnDisk), new StepOnDisk(4, null) }, Now);

        Assert.Empty(r.Missing);
        var persisted = Assert.IsType<StepPersisted>(r.Events.Single(e => e.Step == 2));
        Assert.Equal((b, "00000000000000aa"), (persisted.SaveId, persisted.MetadataChecksum));
        Assert.Equal(CatalogReconciler.InterruptedReason, Assert.IsType<SaveAborted>(r.Events.Single(e => e.Step == 3)).Reason);
        Assert.Equal(2, r.Events.Count);
        Assert.Equal(new long[] { 4 }, r.DirectoriesToRemove);

        // Metadata of another size, or one whose checksum the scan did not take, is not recorded as the persist.
        Assert.Empty(CatalogReconciler.Reconcile(catalog, new[] { new StepOnDisk(2, new CommitOnDisk("", 1, 10)) }, Now).Events.OfType<StepPersisted>());
        Assert.Empty(CatalogReconciler.Reconcile(catalog, new[] { new StepOnDisk(2, OnDisk) with { Commit = new CommitOnDisk("00000000000000aa", 2, 10) } }, Now).Events.OfType<StepPersisted>());

        foreach (var e in r.Events) catalog.Apply(e);
        Assert.Equal(new long[] { 2 }, catalog.DiskSteps);
        Assert.Equal(new long[] { 1, 2 }, catalog.MemorySteps);
        Assert.Empty(CatalogReconciler.Reconcile(catalog, new[] { new StepOnDisk(2, OnDisk) }, Now).Events);
    }

    [Fact]
    public void Debris_should_go_committed_steps_should_stay_and_deleted_ones_should_finish_going()
    {
        var catalog = Catalog(
            new SaveCommitted(1, Guid.Empty, "x", 1, 1, Now),
            new SaveCommitted(2, Guid.Empty, "x", 1, 1, Now),
            new CheckpointDeleted(2, "retention", Now),
            new SaveAborted(3, Guid.Empty, "failed", Now));
        var disk = new[] { new StepOnDisk(1, OnDisk), new StepOnDisk(2, OnDisk), new StepOnDisk(3, null), new StepOnDisk(4, null) };

        var r = CatalogReconciler.Reconcile(catalog, disk, Now);

        Assert.Empty(r.Events);
        Assert.Equal(new long[] { 2, 3, 4 }, r.DirectoriesToRemove);
    }

    [Fact]
    public void A_step_deleted_locally_but_kept_in_the_object_tier_should_finish_going_not_come_back_on_disk()
    {
        var catalog = Catalog(
            new SaveCommitted(10, Guid.Empty, "00000000000000aa", 2, 4096, Now),
            new StepUploaded(10, Guid.Empty, "s3://b/j", "00000000000000aa", 2, 4096, Now),
            new CheckpointDeleted(10, "retention", Now));
        Assert.False(catalog[10]!.OnDisk);

        // Killed after journaling the deletion, before its files went: its committed directory is still there.
        var r = CatalogReconciler.Reconcile(catalog, new[] { new StepOnDisk(10, new CommitOnDisk("00000000000000aa", 2, 4096)) }, Now);

        Assert.Empty(r.Events); // before: StepPersisted, as if it were a memory step persisted
        Assert.Equal(new long[] { 10 }, r.DirectoriesToRemove);
    }

    [Fact]
    public void Commits_unknown_to_the_journal_should_be_adopted_and_vanished_ones_only_reported()
    {
        var catalog = Catalog(new SaveCommitted(1, Guid.Empty, "x", 1, 1, Now), new SaveAborted(2, Guid.Empty, "failed", Now));
        var disk = new[] { new StepOnDisk(2, OnDisk), new StepOnDisk(7, OnDisk) };

        var r = CatalogReconciler.Reconcile(catalog, disk, Now);

        Assert.DoesNotContain(r.Events, e => e.Step == 1);
        Assert.Equal(new long[] { 1 }, r.Missing);
        Assert.IsType<SaveCommitted>(r.Events.Single(e => e.Step == 2));
        Assert.IsType<SaveCommitted>(r.Events.Single(e => e.Step == 7));
        Assert.Empty(r.DirectoriesToRemove);
    }

    [Fact]
    public void A_committed_step_whose_directory_lost_its_metadata_should_be_reported_missing_and_its_directory_kept()
    {
        var catalog = Catalog(new SaveCommitted(1, Guid.Empty, "x", 1, 1, Now), new SaveAborted(2, Guid.Empty, "failed", Now));
        var disk = new[] { new StepOnDisk(1, null), new StepOnDisk(2, null) };

        var r = CatalogReconciler.Reconcile(catalog, disk, Now);

        Assert.Equal(new long[] { 1 }, r.Missing);
        // The aborted attempt's directory is debris; the committed step's is what is left of it.
        Assert.Equal(new long[] { 2 }, r.DirectoriesToRemove);
        Assert.Empty(r.Events);
    }
}

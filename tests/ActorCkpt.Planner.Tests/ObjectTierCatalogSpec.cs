namespace ActorCkpt.Planner.Tests;

/// <summary>
/// The catalog's record of the object tier: an upload of the committed attempt marks the step as on
/// both tiers; deleting it locally leaves it committed in the object tier; a copy found there of a
/// step the catalog never saw is a committed object step; an upload of another attempt changes nothing.
/// </summary>
public class ObjectTierCatalogSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 4, 0, 0, 0, TimeSpan.Zero);
    private static readonly Guid A = Guid.NewGuid(), B = Guid.NewGuid();
    private const string Root = "s3://bucket/job";
    private const string Checksum = "00000000000000aa";

    private static CheckpointCatalog CommittedOnDisk(long step = 4, Guid? attempt = null)
    {
        var catalog = new CheckpointCatalog();
        catalog.Apply(new SaveStarted(step, attempt ?? A, 2, $"step-{step:D8}", T0));
        catalog.Apply(new SaveCommitted(step, attempt ?? A, Checksum, 2, 4096, T0.AddSeconds(1)));
        return catalog;
    }

    [Fact]
    public void An_upload_of_the_committed_attempt_should_put_the_step_on_disk_and_in_the_object_tier()
    {
        var catalog = CommittedOnDisk();
        catalog.Apply(new StepUploaded(4, A, Root, Checksum, 2, 4096, T0.AddSeconds(2)));
        var entry = catalog[4]!;

        Assert.Equal((CheckpointStatus.Committed, true, true, StorageTier.Disk), (entry.Status, entry.OnDisk, entry.OnObject, entry.Tier));
        Assert.Equal((Root, Checksum), (entry.Uploaded, entry.UploadedChecksum));
        Assert.Equal(new long[] { 4 }, catalog.DiskSteps);
        Assert.Equal(new long[] { 4 }, catalog.ObjectSteps);
    }

    [Fact]
    public void The_upload_to_resume_should_be_the_newest_due_step_only_when_it_has_no_copy()
    {
        var catalog = new CheckpointCatalog();
        foreach (var step in new long[] { 10, 15, 20, 30 })
        {
            catalog.Apply(new SaveStarted(step, A, 2, $"step-{step:D8}", T0));
            catalog.Apply(new SaveCommitted(step, A, Checksum, 2, 4096, T0.AddSeconds(1)));
        }
        static bool Due(long s) => s % 10 == 0;
        Assert.Equal(30, catalog.UploadToResume(Due));

        // 10 and 20 went up and the tier's retention took them away again; 30's upload was cut short.
        foreach (var step in new long[] { 10, 20 })
        {
            catalog.Apply(new StepUploaded(step, A, Root, Checksum, 2, 4096, T0.AddSeconds(2)));
            catalog.Apply(new UploadDeleted(step, "the object tier's keep-last", T0.AddSeconds(3)));
        }
        Assert.Equal(30, catalog.UploadToResume(Due));

        // 30 is up: nothing to resume, though 10 and 20 have no copy.
        catalog.Apply(new StepUploaded(30, A, Root, Checksum, 2, 4096, T0.AddSeconds(4)));
        Assert.Null(catalog.UploadToResume(Due));
        Assert.Null(new CheckpointCatalog().UploadToResume(Due));
    }

    [Fact]
    public void An_upload_of_another_attempt_or_of_a_step_in_flight_should_change_nothing()
    {
        var catalog = CommittedOnDisk();
        catalog.Apply(new StepUploaded(4, B, Root, Checksum, 2, 4096, T0.AddSeconds(2)));
        Assert.False(catalog[4]!.OnObject);

        catalog.Apply(new SaveStarted(5, B, 2, "step-00000005", T0));
        catalog.Apply(new StepUploaded(5, B, Root, Checksum, 2, 4096, T0.AddSeconds(2)));
        Assert.Equal((CheckpointStatus.InFlight, (string?)null), (catalog[5]!.Status, catalog[5]!.Uploaded));
    }

    [Fact]
    public void Deleting_an_uploaded_step_should_delete_its_local_copy_only()
    {
        var catalog = CommittedOnDisk();
        catalog.Apply(new StepUploaded(4, A, Root, Checksum, 2, 4096, T0.AddSeconds(2)));
        catalog.Apply(new CheckpointDeleted(4, "retention keeps the newest 1", T0.AddSeconds(3)));
        var entry = catalog[4]!;

        Assert.Equal((CheckpointStatus.Committed, false, true, StorageTier.Object), (entry.Status, entry.OnDisk, entry.OnObject, entry.Tier));
        Assert.Empty(catalog.DiskSteps);
        Assert.Equal(new long[] { 4 }, catalog.CommittedSteps);

        // A step never uploaded is gone with its files, as before.
        var plain = CommittedOnDisk(6);
        plain.Apply(new CheckpointDeleted(6, "retention", T0.AddSeconds(3)));
        Assert.Equal((CheckpointStatus.Deleted, false), (plain[6]!.Status, plain[6]!.OnObject));
    }

    [Fact]
    public void A_step_deleted_locally_while_its_upload_ran_should_be_committed_in_the_object_tier_once_it_is_there()
    {
        var catalog = CommittedOnDisk();
        catalog.Apply(new CheckpointDeleted(4, "retention keeps the newest 1", T0.AddSeconds(2)));
        Assert.Equal(CheckpointStatus.Deleted, catalog[4]!.Status);

        catalog.Apply(new StepUploaded(4, A, Root, Checksum, 2, 4096, T0.AddSeconds(3)));
        var entry = catalog[4]!;
        Assert.Equal((CheckpointStatus.Committed, StorageTier.Object, true, false), (entry.Status, entry.Tier, entry.OnObject, entry.OnDisk));
        Assert.Equal((2, 4096L), (entry.Files, entry.Bytes));
    }

    [Fact]
    public void A_copy_found_in_the_object_tier_of_an_unknown_or_deleted_step_should_be_a_committed_object_step()
    {
        var catalog = new CheckpointCatalog();
        catalog.Apply(new StepUploaded(8, Guid.Empty, Root, Checksum, 3, 9000, T0));
        var found = catalog[8]!;
        Assert.Equal((CheckpointStatus.Committed, StorageTier.Object, false, true), (found.Status, found.Tier, found.OnDisk, found.OnObject));
        Assert.Equal((3, 9000L, Checksum), (found.Files, found.Bytes, found.MetadataChecksum));

        var deleted = CommittedOnDisk(2);
        deleted.Apply(new CheckpointDeleted(2, "retention", T0.AddSeconds(3)));
        deleted.Apply(new StepUploaded(2, Guid.Empty, Root, Checksum, 2, 4096, T0.AddSeconds(4)));
        Assert.True(deleted[2]!.OnObject);
        Assert.Equal(StorageTier.Object, deleted[2]!.Tier);
    }

    [Fact]
    public void Removing_the_object_copy_should_delete_a_step_kept_only_there_and_leave_one_on_disk_committed()
    {
        var catalog = CommittedOnDisk(4);
        catalog.Apply(new StepUploaded(4, A, Root, Checksum, 2, 4096, T0.AddSeconds(2)));
        catalog.Apply(new SaveStarted(5, B, 2, "step-00000005", T0));
        catalog.Apply(new SaveCommitted(5, B, Checksum, 2, 4096, T0.AddSeconds(1)));
        catalog.Apply(new StepUploaded(5, B, Root, Checksum, 2, 4096, T0.AddSeconds(2)));
        catalog.Apply(new CheckpointDeleted(4, "retention", T0.AddSeconds(3)));

        catalog.Apply(new UploadDeleted(4, "the object tier keeps the newest 1 steps", T0.AddSeconds(4)));
        catalog.Apply(new UploadDeleted(5, "by hand", T0.AddSeconds(4)));
        catalog.Apply(new UploadDeleted(9, "a step never seen", T0.AddSeconds(4)));

        Assert.Equal((CheckpointStatus.Deleted, false, (string?)null), (catalog[4]!.Status, catalog[4]!.OnObject, catalog[4]!.Uploaded));
        Assert.Equal((CheckpointStatus.Committed, true, false), (catalog[5]!.Status, catalog[5]!.OnDisk, catalog[5]!.OnObject));
        Assert.Null(catalog[9]);
        Assert.Empty(catalog.ObjectSteps);
    }

    [Fact]
    public void A_snapshot_should_keep_the_object_copy()
    {
        var catalog = CommittedOnDisk();
        catalog.Apply(new StepUploaded(4, A, Root, Checksum, 2, 4096, T0.AddSeconds(2)));
        var restored = new CheckpointCatalog(catalog.ToSnapshot());
        Assert.Equal(catalog[4], restored[4]);
    }
}

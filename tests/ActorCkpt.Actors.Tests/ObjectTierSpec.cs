using Akka.Actor;
using ActorCkpt.Io.Tests;

namespace ActorCkpt.Actors.Tests;

/// <summary>
/// The object tier against Azurite and s3rver: committed steps go up in the background every N
/// steps while saves go on, the catalog records each on both tiers, a step deleted locally stays
/// loadable from the object tier (resharded), and a planner over an empty disk finds the tier's
/// steps and loads the newest from there.
/// </summary>
[Collection(ObjectEmulatorCollection.Name)]
public class ObjectTierSpec(ObjectEmulators emulators) : NodeSpec
{
    private static readonly IReadOnlyList<(string Key, DType DType, Layout Layout, long Rows, long Cols)> Model =
        TestStates.Model(new[] { DType.Float32, DType.BFloat16 }, new[] { Layout.Rows, Layout.Columns, Layout.Replicated });

    private FaultHandler _http = null!;

    private ObjectStoreOptions Options(string service) => emulators.Options(service) with
    {
        CreateMissing = true, StateDirectory = Path.Combine(Root, "state"), WrapHandler = inner => _http = new FaultHandler(inner),
    };

    /// <summary>Uploads every <paramref name="every"/> steps to <paramref name="tier"/>; the disk keeps the newest step only.</summary>
    private ActorCkptSettings Settings(string tier, ObjectStoreOptions options, long every = 2) => ActorCkptSettings.Create(Sys) with
    {
        ObjectTier = new ObjectTierSettings(tier, every, TimeSpan.FromMinutes(5)), ObjectStore = options, Retention = new RetentionPolicy(1, 0),
        RemovalGrace = TimeSpan.Zero, // no load can be under way before this planner started
    };

    private CheckpointNode Start(string root, ActorCkptSettings settings)
    {
        Directory.CreateDirectory(root);
        return CheckpointNode.Start(Sys, new LocalBlobStore(root), settings, "tiered" + Guid.NewGuid().ToString("N")[..6]);
    }

    private static async Task<IReadOnlyList<CatalogEntry>> CatalogOf(CheckpointNode node) =>
        (await node.Planner.Ask<CatalogRead>(new ReadCatalog(), Patience)).Entries;

    private async Task AwaitUploadedAsync(CheckpointNode node, params long[] steps) =>
        await AwaitConditionAsync(async () => (await CatalogOf(node)).Count(e => steps.Contains(e.Step) && e.OnObject) == steps.Length, Patience);

    private static async Task SaveAsync(CheckpointNode node, long step)
    {
        var states = TestStates.Build(Model, 2, seed: (int)step);
        await SaveAllAsync(node, step, states);
        TestStates.Dispose(states);
    }

    /// <summary>Loads on 3 ranks (saved by 2) and checks every value against the step's.</summary>
    private static async Task<LoadResult> LoadResharded(CheckpointNode node, long? step, long expected, int? seed = null)
    {
        var targets = TestStates.Empty(Model, 3);
        var results = await LoadAllAsync(node, targets, step);
        Assert.All(results, r => Assert.Equal(expected, r.Step));
        Assert.Empty(TestStates.Differences(Model, targets, seed: seed ?? (int)expected));
        TestStates.Dispose(targets);
        return results[0];
    }

    [Theory]
    [InlineData("az")]
    [InlineData("s3")]
    public async Task Every_second_step_should_go_up_in_the_background_and_load_from_the_object_tier_once_gone_from_disk(string service)
    {
        var tier = $"{service}://{ObjectEmulators.NewContainer()}/tier";
        var options = Options(service);
        var node = Start(Root, Settings(tier, options));
        for (var step = 1; step <= 4; step++) await SaveAsync(node, step);
        await AwaitUploadedAsync(node, 2, 4);
        // Retention keeps step 4 on disk; step 2's files go once its upload no longer holds them.
        await AwaitConditionAsync(() => Task.FromResult(!node.Store.IsCommitted(2)), Patience);

        var catalog = (await CatalogOf(node)).ToDictionary(e => e.Step);
        Assert.Equal((CheckpointStatus.Committed, StorageTier.Object, false, true, tier), (catalog[2].Status, catalog[2].Tier, catalog[2].OnDisk, catalog[2].OnObject, catalog[2].Uploaded));
        Assert.Equal((true, true), (catalog[4].OnDisk, catalog[4].OnObject));
        Assert.Equal(catalog[4].MetadataChecksum, catalog[4].UploadedChecksum);
        Assert.Equal((CheckpointStatus.Deleted, false), (catalog[1].Status, catalog[1].OnObject));
        Assert.Equal((CheckpointStatus.Deleted, false), (catalog[3].Status, catalog[3].OnObject));
        var objects = new CheckpointStore(BlobStores.Open(tier, options));
        Assert.Equal(new long[] { 2, 4 }, objects.CommittedSteps());

        Assert.Equal(StorageTier.Disk, (await LoadResharded(node, null, 4)).Tier);
        Assert.Equal(StorageTier.Object, (await LoadResharded(node, 2, 2)).Tier);

        // The disk, and its catalog, lost: a planner over an empty root finds the tier's steps and loads the newest from there.
        var fresh = Start(Path.Combine(Root, "replacement"), Settings(tier, options));
        Assert.Equal(StorageTier.Object, (await LoadResharded(fresh, null, 4)).Tier);
        var found = (await CatalogOf(fresh)).ToDictionary(e => e.Step);
        Assert.Equal(new long[] { 2, 4 }, found.Keys.Order());
        Assert.All(found.Values, e => Assert.Equal((CheckpointStatus.Committed, StorageTier.Object, tier), (e.Status, e.Tier, e.Uploaded)));
    }

    [Fact]
    public async Task A_step_older_than_retention_keeps_should_be_saved_when_the_object_tier_takes_it_and_refused_when_not()
    {
        var tier = $"az://{ObjectEmulators.NewContainer()}/tier";
        var node = Start(Root, Settings(tier, Options("az")));
        await SaveAsync(node, 4);

        // Retention (keep-last 1) lets step 2 go from disk, but the tier keeps its upload.
        await SaveAsync(node, 2);
        await AwaitUploadedAsync(node, 2);
        await LoadResharded(node, 2, 2);
        // Step 3 is not due for the tier: it would be gone as soon as it committed.
        var refused = await Assert.ThrowsAsync<CheckpointFailedException>(() => SaveAsync(node, 3));
        Assert.StartsWith("step 3 would be deleted as soon as it committed", refused.Reason);
    }

    [Fact]
    public async Task Saves_should_go_on_while_an_upload_hangs_and_only_the_newest_step_due_meanwhile_should_wait()
    {
        var tier = $"s3://{ObjectEmulators.NewContainer()}/tier";
        var options = Options("s3");
        var node = Start(Root, Settings(tier, options));
        await SaveAsync(node, 1);
        var step2 = "/" + CheckpointLayout.StepDirectory(2) + "/";
        _http.Hold(r => r.Method == HttpMethod.Put && r.RequestUri!.AbsolutePath.Contains(step2, StringComparison.Ordinal));

        await SaveAsync(node, 2);
        await AwaitConditionAsync(() => Task.FromResult(_http.Held > 0), Patience);
        // The loop is not held: these commit while step 2's upload hangs; 4 waits behind it, then 6 takes its place.
        for (var step = 3; step <= 6; step++) await SaveAsync(node, step);
        Assert.True(_http.Held > 0);
        Assert.DoesNotContain(await CatalogOf(node), e => e.OnObject);

        _http.Release();
        await AwaitUploadedAsync(node, 2, 6);
        var catalog = (await CatalogOf(node)).ToDictionary(e => e.Step);
        Assert.False(catalog[4].OnObject);
        Assert.Equal(new long[] { 2, 6 }, new CheckpointStore(BlobStores.Open(tier, options)).CommittedSteps());
        await AwaitConditionAsync(() => Task.FromResult(!node.Store.IsCommitted(4)), Patience);
    }

    [Fact]
    public async Task An_upload_a_store_stopped_answering_should_be_abandoned_at_its_deadline_and_the_next_step_go_up()
    {
        var tier = $"s3://{ObjectEmulators.NewContainer()}/tier";
        // Held requests get no answer for longer than the test (request-timeout) and the upload-timeout is short.
        var options = Options("s3") with { RequestTimeout = TimeSpan.FromMinutes(10) };
        var node = Start(Root, Settings(tier, options) with
        {
            ObjectTier = new ObjectTierSettings(tier, 1, TimeSpan.FromSeconds(10)), Retention = RetentionPolicy.KeepAll,
        });
        await SaveAsync(node, 1);
        await AwaitUploadedAsync(node, 1);
        var log = CreateTestProbe();
        Sys.EventStream.Subscribe(log.Ref, typeof(Akka.Event.Warning));
        var step2 = "/" + CheckpointLayout.StepDirectory(2) + "/";
        _http.Hold(r => r.Method == HttpMethod.Put && r.RequestUri!.AbsolutePath.Contains(step2, StringComparison.Ordinal));

        await SaveAsync(node, 2);
        await AwaitConditionAsync(() => Task.FromResult(_http.Held > 0), Patience);
        // Before, the upload waited on its requests (here 10 minutes, and by default retries of 100 s each), holding the tier's only slot.
        var abandoned = log.FishForMessage<Akka.Event.Warning>(w => w.Message.ToString()!.StartsWith("Object tier: the upload of step 2 ", StringComparison.Ordinal), Patience);
        Assert.Contains("is abandoned: not done within 00:00:10 (actorckpt.tiers.object.upload-timeout)", abandoned.Message.ToString());
        // The copy's writers gave their requests up (the store still answers none).
        await AwaitConditionAsync(() => Task.FromResult(_http.Held == 0), Patience);
        await SaveAsync(node, 3);
        await AwaitUploadedAsync(node, 3);
        Assert.False((await CatalogOf(node)).Single(e => e.Step == 2).OnObject);
        Assert.True(node.Store.IsCommitted(2));
        _http.Release();
    }

    [Fact]
    public async Task A_step_the_tier_holds_as_another_checkpoint_should_not_be_recorded_as_the_local_step_s_copy()
    {
        var tier = $"az://{ObjectEmulators.NewContainer()}/tier";
        var options = Options("az");
        // One job uploads its step 1.
        var first = Start(Path.Combine(Root, "first"), Settings(tier, options, every: 1));
        await SaveAsync(first, 1);
        await AwaitUploadedAsync(first, 1);
        // A rerun in another root saves its own step 1 (other values) with the tier off, then restarts with it on.
        var rerun = Path.Combine(Root, "rerun");
        Directory.CreateDirectory(rerun);
        Akka.Actor.ActorSystem Process() => Akka.Actor.ActorSystem.Create("rerun", ActorCkptConfig.WithCatalog(
            Akka.Configuration.ConfigurationFactory.ParseString(TestConfig).WithFallback(ActorCkptConfig.Defaults), rerun));
        var before = Process();
        string localChecksum;
        try
        {
            var node = CheckpointNode.Start(before, new LocalBlobStore(rerun));
            var states = TestStates.Build(Model, 2, seed: 99);
            await SaveAllAsync(node, 1, states);
            TestStates.Dispose(states);
            localChecksum = (await CatalogOf(node)).Single(e => e.Step == 1).MetadataChecksum!;
        }
        finally
        {
            await before.Terminate();
        }
        var after = Process();
        try
        {
            var node = CheckpointNode.Start(after, new LocalBlobStore(rerun), ActorCkptSettings.Create(after) with
            {
                ObjectTier = new ObjectTierSettings(tier, 1, TimeSpan.FromMinutes(5)), ObjectStore = options,
            });
            // The listing at start saw the tier's step 1 (a load waits for it), then went on.
            var loaded = await LoadResharded(node, null, 1, seed: 99);

            var entry = (await CatalogOf(node)).Single(e => e.Step == 1);
            Assert.Equal((CheckpointStatus.Committed, StorageTier.Disk, false, localChecksum), (entry.Status, loaded.Tier, entry.OnObject, entry.MetadataChecksum));
            Assert.NotEqual(localChecksum, new CheckpointStore(BlobStores.Open(tier, options)).ReadMetadataWithChecksum(1).Checksum);
        }
        finally
        {
            await after.Terminate();
        }
    }

    [Fact]
    public async Task A_tier_should_be_marked_at_its_first_upload_and_refuse_to_become_a_root_of_its_own()
    {
        var options = Options("s3");
        var tier = $"s3://{ObjectEmulators.NewContainer()}/tier";
        var node = Start(Root, Settings(tier, options, every: 1));
        await SaveAsync(node, 1);
        await AwaitUploadedAsync(node, 1);
        var blobs = BlobStores.Open(tier, options);
        Assert.Equal(node.Store.RootId(), new CheckpointStore(blobs).ObjectTierOf());

        // Before, a job started on the tier made it a root (its catalog.id), after which the tier refused the owner's uploads as another root's.
        var refused = Assert.Throws<ActorCkptException>(() => CheckpointNode.Start(Sys, blobs, ActorCkptSettings.Create(Sys) with { ObjectStore = options }, "on-the-tier"));
        Assert.Equal($"'{tier}' is the object tier of another checkpoint root (its tier-of.id names the root with id {node.Store.RootId()}): "
            + "a checkpoint root made there would take that root's uploads for steps of its own; give it a prefix of its own", refused.Message);
        Assert.False(blobs.Exists(CheckpointLayout.RootIdFile));
        await SaveAsync(node, 2);
        await AwaitUploadedAsync(node, 1, 2);

        // A second root uploading there (or this one after losing its disk) is told that the marker names another.
        var log = CreateTestProbe();
        Sys.EventStream.Subscribe(log.Ref, typeof(Akka.Event.Warning));
        var second = Start(Path.Combine(Root, "second"), Settings(tier, options, every: 1));
        await SaveAsync(second, 3);
        var told = log.FishForMessage<Akka.Event.Warning>(w => w.Message.ToString()!.StartsWith("Object tier: '", StringComparison.Ordinal), Patience);
        Assert.StartsWith($"Object tier: '{tier}' is marked as the tier of the root with id {node.Store.RootId()}, not of this root ({second.Store.RootId()}): ", told.Message.ToString());
        await AwaitUploadedAsync(second, 3);
        Assert.Equal(node.Store.RootId(), new CheckpointStore(blobs).ObjectTierOf());
    }

    [Fact]
    public async Task A_tier_that_is_another_jobs_object_store_root_should_take_nothing_from_it_and_delete_nothing_there()
    {
        var options = Options("s3");
        var other = $"s3://{ObjectEmulators.NewContainer()}/run-1";
        var job = CheckpointNode.Start(Sys, BlobStores.Open(other, options), ActorCkptSettings.Create(Sys) with { ObjectStore = options }, "other-job");
        await SaveAsync(job, 2);
        var log = CreateTestProbe();
        Sys.EventStream.Subscribe(log.Ref, typeof(Akka.Event.Warning));

        // Before: the tier listed the job's step 2 as its own upload, and keep-last 1 deleted it once step 5 went up.
        var node = Start(Root, Settings(other, options, every: 1) with { ObjectTier = new ObjectTierSettings(other, 1, TimeSpan.FromMinutes(5), KeepLast: 1) });
        await SaveAsync(node, 5);

        var refused = log.FishForMessage<Akka.Event.Warning>(w => w.Message.ToString()!.StartsWith("Object tier: step 5 was not uploaded", StringComparison.Ordinal), Patience);
        Assert.EndsWith($"actorckpt.tiers.object.root = '{other}' is another checkpoint root (it holds catalog.id): the tier's retention would delete that root's steps; give the tier a prefix of its own; it stays on the local tiers only",
            refused.Message.ToString());
        Assert.Equal(new long[] { 2 }, new CheckpointStore(BlobStores.Open(other, options)).CommittedSteps());
        Assert.DoesNotContain(await CatalogOf(node), e => e.Step == 2);
    }

    [Fact]
    public async Task An_upload_that_cannot_finish_should_leave_the_step_local_and_nothing_half_done_in_the_tier()
    {
        var tier = $"az://{ObjectEmulators.NewContainer()}/tier";
        var options = Options("az") with { Retries = 1, RetryBackoff = TimeSpan.FromMilliseconds(1) };
        var node = Start(Root, Settings(tier, options, every: 1) with { Retention = RetentionPolicy.KeepAll });
        await SaveAsync(node, 1);
        await AwaitUploadedAsync(node, 1);
        var http = _http; // the uploader's; opening the tier below wraps a handler of its own
        // Rank 1's files of step 2 fail; rank 0's go up whole.
        var failing = "/" + CheckpointLayout.InStep(2, "r00001-");
        http.Fail(r => r.Method == HttpMethod.Put && r.RequestUri!.AbsolutePath.Contains(failing, StringComparison.Ordinal),
            () => FaultHandler.InternalError(azure: true), times: 1000);
        var log = CreateTestProbe();
        Sys.EventStream.Subscribe(log.Ref, typeof(Akka.Event.Warning));

        // Only step 2's requests fail (a fault matches the head of the queue only): step 3's go through once step 2's upload gave up.
        await SaveAsync(node, 2);
        await SaveAsync(node, 3);
        await AwaitUploadedAsync(node, 3);
        // The tier's store says in the node's log that it sent a failed request again, as the root's does.
        var retried = log.FishForMessage<Akka.Event.Warning>(w => w.LogSource.StartsWith(ObjectStoreNoticeLog.Source + " ", StringComparison.Ordinal), Patience);
        Assert.Matches(@"^az://\S+ \(.+\): tier/step-00000002/r00001-\S+ 500 InternalError: .+; sending it again in 0\.001 s \(retry 1 of 1\)$", retried.Message.ToString());

        var catalog = (await CatalogOf(node)).ToDictionary(e => e.Step);
        Assert.Equal((CheckpointStatus.Committed, true, false), (catalog[2].Status, catalog[2].OnDisk, catalog[2].OnObject));
        var objects = (ObjectBlobStore)BlobStores.Open(tier, options);
        Assert.Equal(new long[] { 1, 3 }, new CheckpointStore(objects).CommittedSteps());
        Assert.Empty(objects.AbandonedUploads());
        Assert.True(http.Faulted.Values.Sum() > 0);
        // The files of step 2 that went up whole went again with the failed upload.
        var files = node.Store.ReadMetadata(2).Files.Select(f => f.Name).ToArray();
        Assert.Contains(files, f => f.StartsWith("r00000-", StringComparison.Ordinal));
        Assert.All(files, f => Assert.False(objects.Exists(CheckpointLayout.InStep(2, f)), f));
    }
}

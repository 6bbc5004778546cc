using Akka.Event;
using ActorCkpt.Io.Tests;

namespace ActorCkpt.Actors.Tests;

/// <summary>
/// A save to an object store that cannot finish (every part upload refused by the service, a 500
/// each time, against Azurite and s3rver) fails after its retries, and leaves nothing behind: no
/// metadata, nothing that looks committed, and every upload it began aborted by the writer that
/// began it; the next save commits.
/// </summary>
[Collection(ObjectEmulatorCollection.Name)]
public class ObjectStoreSaveSpec(ObjectEmulators emulators) : NodeSpec("actorckpt.writer.max-retries = 1")
{
    // 16 MiB of rows over 2 ranks: each rank's file is over one 5 MiB part, so it is uploaded in parts.
    private static readonly IReadOnlyList<(string Key, DType DType, Layout Layout, long Rows, long Cols)> Model =
        [("big.rows", DType.Float32, Layout.Rows, 8192L, 512L), ("small.replicated", DType.Float32, Layout.Replicated, 13L, 6L)];

    [Theory]
    [InlineData("az")]
    [InlineData("s3")]
    public async Task A_save_whose_parts_always_fail_should_fail_and_leave_no_upload_open(string service)
    {
        FaultHandler http = null!;
        var options = emulators.Options(service) with
        {
            CreateMissing = true, StateDirectory = Path.Combine(Root, "state"), PartSize = 5 << 20, Retries = 1,
            RetryBackoff = TimeSpan.FromMilliseconds(5), WrapHandler = inner => http = new FaultHandler(inner),
        };
        var objects = (ObjectBlobStore)BlobStores.Open($"{service}://{ObjectEmulators.NewContainer()}/job", options);
        var node = CheckpointNode.Start(Sys, objects, ActorCkptSettings.Create(Sys), "objects");
        var states = TestStates.Build(Model, 2, seed: 4);
        http.Fail(FaultHandler.IsPartUpload, () => FaultHandler.InternalError(service == "az"), times: 1000);

        var failed = await Assert.ThrowsAnyAsync<Exception>(() => SaveAllAsync(node, 1, states));
        Assert.Contains("500", failed.ToString());
        Assert.Empty(new CheckpointStore(objects).CommittedSteps());
        // Each writer aborts its upload as it lets go of the file, which may be just after the save is reported failed.
        await AwaitConditionAsync(() => Task.FromResult(objects.AbandonedUploads().Count == 0), Patience);
        Assert.False(objects.Exists(CheckpointLayout.InStep(1, CheckpointLayout.MetadataFile)));

        http.ClearFaults();
        await SaveAllAsync(node, 2, states);
        Assert.Equal(new long[] { 2 }, new CheckpointStore(objects).CommittedSteps());
        TestStates.Dispose(states);
    }

    [Fact]
    public async Task A_store_that_stops_answering_should_be_warned_of_at_each_timeout_not_only_when_the_save_fails()
    {
        FaultHandler http = null!;
        var settings = ActorCkptSettings.Create(Sys) with
        {
            ObjectStore = emulators.Options("s3") with
            {
                CreateMissing = true, StateDirectory = Path.Combine(Root, "state"), PartSize = 5 << 20, Retries = 1,
                RetryBackoff = TimeSpan.FromMilliseconds(5), RequestTimeout = TimeSpan.FromMilliseconds(500), WrapHandler = inner => http = new FaultHandler(inner),
            },
        };
        var objects = (ObjectBlobStore)BlobStores.Open($"s3://{ObjectEmulators.NewContainer()}/job", settings.ObjectStore);
        var node = CheckpointNode.Start(Sys, objects, settings, "stalled");
        var log = CreateTestProbe();
        Sys.EventStream.Subscribe(log.Ref, typeof(Warning));
        var states = TestStates.Build(Model, 2, seed: 5);
        http.Hold(FaultHandler.IsPartUpload);

        var failed = await Assert.ThrowsAnyAsync<Exception>(() => SaveAllAsync(node, 1, states));

        Assert.Contains("no answer within 0.5 s, 2 times", failed.ToString());
        // Before the last retry gave up, the node's log said that a part got no answer and went again.
        var warning = log.FishForMessage<Warning>(w => w.LogSource.StartsWith(ObjectStoreNoticeLog.Source + " ", StringComparison.Ordinal), Patience);
        Assert.Matches(@"^s3://\S+ \(.+\): job/step-00000001/\S+ part \d+: no answer within 0\.5 s; sending it again \(retry 1 of 1\)$", warning.Message.ToString());
        http.Release();
        TestStates.Dispose(states);
    }
}

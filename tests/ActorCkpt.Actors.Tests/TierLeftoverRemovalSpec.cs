using Akka.Actor;
using Akka.Event;
using Akka.TestKit;

namespace ActorCkpt.Actors.Tests;

/// <summary>
/// The uploader's removal, at the planner's start, of what copies to the object tier that never
/// finished left there (<see cref="TierLeftovers"/>): no upload starts while it runs, so none writes a
/// step the removal is judging or deleting.
/// </summary>
public sealed class TierLeftoverRemovalSpec : NodeSpec
{
    private static readonly IReadOnlyList<(string Key, DType DType, Layout Layout, long Rows, long Cols)> Model =
        TestStates.Model(new[] { DType.Float32 }, new[] { Layout.Rows, Layout.Replicated });

    private readonly string _tier = Path.Combine(Path.GetTempPath(), "actorckpt-tier-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task An_upload_asked_for_while_the_leftovers_go_should_start_after_them_and_copy_the_step_whole()
    {
        // Step 7 is committed on the disk; the tier holds what a killed copy of it left: a data file, no metadata.
        var node = StartNode();
        var states = TestStates.Build(Model, 2, seed: 7);
        await SaveAllAsync(node, 7, states);
        TestStates.Dispose(states);
        var step7 = (await node.Planner.Ask<CatalogRead>(new ReadCatalog(), Patience)).Entries.Single(e => e.Step == 7);
        var leftover = Path.Combine(_tier, CheckpointLayout.StepDirectory(7), "rank-00000.safetensors");
        Directory.CreateDirectory(Path.GetDirectoryName(leftover)!);
        File.WriteAllBytes(leftover, new byte[1000]);

        // The removal is held where it deletes step 7's directory.
        var gate = new GatedStore.Gate();
        ObjectTierStores.Get(Sys).Use(_tier, new CheckpointStore(new DeleteGatedStore(new LocalBlobStore(_tier), gate)));
        Sys.EventStream.SetLogLevel(LogLevel.InfoLevel);
        var log = CreateTestProbe();
        Sys.EventStream.Subscribe(log.Ref, typeof(Info));
        var settings = ActorCkptSettings.Create(Sys) with { ObjectTier = new ObjectTierSettings(_tier, 1, TimeSpan.FromMinutes(5)) };
        var uploader = Sys.ActorOf(ObjectTierActor.Props(new CheckpointStore(new LocalBlobStore(Root)), settings));

        // The planner's start did not count step 7 as one that may still go up (committed after it looked, say).
        uploader.Tell(new FindUploads([], MayUpload: []));
        await gate.Entered.WaitAsync(Patience);
        uploader.Tell(new UploadStep(7, step7.SaveId, step7.MetadataChecksum!));
        gate.Open();

        // (The listing's answer, UploadsFound, comes too.)
        var uploaded = await FishForMessageAsync<UploadStepSuccess>(_ => true, Patience);
        Assert.Equal((7L, false), (uploaded.Step, uploaded.AlreadyThere));
        // Before, the upload started at once, while step 7's directory was being deleted under it.
        var lines = new List<string>();
        await log.FishForMessageAsync<Info>(i =>
        {
            lines.Add(i.Message.ToString()!);
            return lines[^1].StartsWith("Object tier: step 7 uploaded", StringComparison.Ordinal);
        }, Patience);
        Assert.Equal(
            [$"Object tier: removed from '{_tier}' what unfinished copies left of steps 7, which can no longer be uploaded", $"Object tier: uploading step 7 to '{_tier}'"],
            lines.Where(l => l.StartsWith("Object tier: removed", StringComparison.Ordinal) || l.StartsWith("Object tier: uploading", StringComparison.Ordinal)));
        var local = Path.Combine(Root, CheckpointLayout.StepDirectory(7));
        var copied = Path.Combine(_tier, CheckpointLayout.StepDirectory(7));
        var names = Directory.GetFiles(local).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(names, Directory.GetFiles(copied).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.All(names, n => Assert.Equal(File.ReadAllBytes(Path.Combine(local, n!)), File.ReadAllBytes(Path.Combine(copied, n!))));
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        ScratchDirectory.Delete(_tier);
    }

    /// <summary>A store whose directory deletions wait at <paramref name="gate"/> until the test opens it.</summary>
    private sealed class DeleteGatedStore(IBlobStore inner, GatedStore.Gate gate) : DelegatingBlobStore(inner)
    {
        public override void DeleteDirectory(string path)
        {
            gate.Pass();
            Inner.DeleteDirectory(path);
        }
    }
}

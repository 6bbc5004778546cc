
namespace ActorCkpt.Io.Tests;

public class CommitSpec : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void The_metadata_rename_should_be_the_commit()
    {
        var store = new CheckpointStore(new LocalBlobStore(_dir.Path));
        SavedCheckpoint.Save(store, 10, world: 2);

        Assert.True(store.IsCommitted(10));
        Assert.Equal(new long[] { 10 }, store.CommittedSteps());
        Assert.False(File.Exists(Path.Combine(_dir.Path, "step-00000010", CheckpointLayout.MetadataTempFile)));
        Assert.Equal(10, store.ReadTracker());
    }

    [Fact]
    public void A_directory_without_metadata_should_not_be_a_checkpoint()
    {
        var store = new CheckpointStore(new LocalBlobStore(_dir.Path));
        SavedCheckpoint.Save(store, 1, world: 2);
        SavedCheckpoint.Save(store, 2, world: 2);
        // Step 2 as a crash before the rename leaves it: data files and a temporary metadata file.
        File.Move(Path.Combine(_dir.Path, "step-00000002", "metadata.json"), Path.Combine(_dir.Path, "step-00000002", "metadata.json.tmp"));

        Assert.False(store.IsCommitted(2));
        Assert.Equal(new long[] { 1 }, store.CommittedSteps());
        Assert.Equal(1, store.LatestStep());
        Assert.Throws<CheckpointNotFoundException>(() => store.ReadMetadata(2));
    }

    [Fact]
    public void A_committed_step_should_never_be_prepared_again()
    {
        var store = new CheckpointStore(new LocalBlobStore(_dir.Path));
        SavedCheckpoint.Save(store, 4, world: 1);

        var e = Assert.Throws<StepAlreadyCommittedException>(() => store.PrepareStep(4));

        Assert.Contains("step 4 is already committed", e.Message);
        Assert.True(store.IsCommitted(4));
        Assert.False(store.DeleteUncommitted(4));
        Assert.True(store.IsCommitted(4));
    }

    [Fact]
    public void Preparing_a_step_should_remove_the_debris_of_a_save_that_never_committed()
    {
        var store = new CheckpointStore(new LocalBlobStore(_dir.Path));
        var debris = Path.Combine(_dir.Path, "step-00000003");
        Directory.CreateDirectory(debris);
        File.WriteAllText(Path.Combine(debris, "r00000-000.safetensors"), "torn");

        store.PrepareStep(3);

        Assert.True(Directory.Exists(debris));
        Assert.Empty(Directory.GetFiles(debris));
    }

    [Fact]
    public void The_tracker_should_only_move_forward()
    {
        var store = new CheckpointStore(new LocalBlobStore(_dir.Path));
        SavedCheckpoint.Save(store, 20, world: 1);
        SavedCheckpoint.Save(store, 5, world: 1);

        Assert.Equal(20, store.ReadTracker());
        Assert.Equal(20, store.LatestStep());
    }

    [Fact]
    public void Metadata_should_round_trip_through_json()
    {
        var store = new CheckpointStore(new LocalBlobStore(_dir.Path));
        SavedCheckpoint.Save(store, 7, world: 3);

        var md = store.ReadMetadata(7);
        var again = MetadataJson.Deserialize(MetadataJson.Serialize(md), "x");

        Assert.Equal(7, again.Step);
        Assert.Equal(3, again.WorldSize);
        Assert.Equal(md.Tensors.Keys.Order(), again.Tensors.Keys.Order());
        Assert.Equal(md.Tensors["w"].Chunks.Select(c => c.Box), again.Tensors["w"].Chunks.Select(c => c.Box));
        Assert.Equal(md.Tensors["w"].Chunks.SelectMany(c => c.Bytes.BlockChecksums), again.Tensors["w"].Chunks.SelectMany(c => c.Bytes.BlockChecksums));
        Assert.Equal(3, again.Objects.Count);
    }

    [Fact]
    public void Metadata_of_another_format_version_should_be_refused_by_name()
    {
        var json = """{"format":"actorckpt","format_version":99,"step":1}"""u8.ToArray();

        var e = Assert.Throws<CheckpointFormatException>(() => MetadataJson.Deserialize(json, "step-00000001/metadata.json"));

        Assert.Contains("'step-00000001/metadata.json': format_version 99 is not supported", e.Message);
    }
}

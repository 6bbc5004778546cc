using System.Runtime.InteropServices;
using System.Text;

namespace ActorCkpt.Io.Tests;

/// <summary>
/// Both metadata forms under one committed name: a save commits the binary form and the catalog's
/// checksum is its seal; a step committed in the JSON form (format version 1, as before the binary
/// form) is still a committed step, read whole, opened by index and loaded, exactly.
/// </summary>
public class MetadataFormsSpec : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private CheckpointStore Store() => new(new LocalBlobStore(_dir.Path));

    private string MetadataPath(long step) => Path.Combine(_dir.Path, CheckpointLayout.InStep(step, CheckpointLayout.MetadataFile));

    [Fact]
    public void A_save_should_commit_the_binary_form_whose_seal_is_the_catalogs_checksum()
    {
        var store = Store();
        SavedCheckpoint.Save(store, 1, world: 2);
        var bytes = File.ReadAllBytes(MetadataPath(1));
        store.PrepareStep(2);
        var committed = store.Commit(store.ReadMetadata(1) with { Step = 2 });

        Assert.True(MetadataBinary.IsBinary(bytes));
        Assert.Equal("\u0089ACKMETA", Encoding.Latin1.GetString(bytes, 0, 8));
        Assert.Equal(committed, CheckpointStore.Checksum(File.ReadAllBytes(MetadataPath(2))));
        using var index = store.OpenMetadata(2, committed);
        Assert.Equal(committed, index.Checksum);
        Assert.True(index.IsBinary);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_step_in_either_form_should_be_listed_read_opened_by_index_and_loaded_exactly(bool json)
    {
        var store = Store();
        var values = SavedCheckpoint.Save(store, 1, world: 2, json: json);
        var checksum = CheckpointStore.Checksum(File.ReadAllBytes(MetadataPath(1)));

        Assert.Equal(!json, MetadataBinary.IsBinary(File.ReadAllBytes(MetadataPath(1))));
        Assert.Equal(json ? "JSON form (format_version 1)" : "binary form (layout version 2)", store.MetadataForm(1));
        Assert.Equal([1L], store.CommittedSteps());
        Assert.Equal(checksum, Assert.Single(store.ScanSteps(_ => true).Steps).Commit!.MetadataChecksum);
        Assert.Empty(CheckpointVerifier.Verify(store, 1));

        // Rank 1 of 2 loads rows 4..7 of "w" and "b" by index, as ShardLoader does.
        using var index = store.OpenMetadata(1, checksum);
        Assert.Equal(!json, index.IsBinary);
        Assert.Equal(["b", "w"], index.Overview().Tensors.Keys.Order(StringComparer.Ordinal));
        var wanted = new[]
        {
            new WantedChunk(0, "w", DType.Float32, [8L, 4L], new TensorBox([4L, 0L], [4L, 4L])),
            new WantedChunk(1, "b", DType.Float32, [3L], TensorBox.Whole([3L])),
        };
        var part = index.ForRank(1, wanted);
        var w = new float[16];
        var b = new float[3];
        new ChunkReader(store).Read(LoadPlanner.Plan(part, wanted, StrictHandling.RaiseAll),
            (i, o, n) => (i == 0 ? MemoryMarshal.AsBytes(w.AsSpan()) : MemoryMarshal.AsBytes(b.AsSpan())).Slice((int)o, n), 2);

        Assert.Equal(values[16..], w);
        Assert.Equal([2f, 2f, 3f], b);
        if (json)
        {
            // The JSON form is parsed whole: every view is the whole metadata (ShardLoader keeps the rank's own entries).
            Assert.Same(store.ReadMetadata(1, checksum), part);
            return;
        }
        // By index: rank 1's entry alone, and of "w" only the chunk of rows 4..7.
        Assert.Equal([("rng", 1)], part.Objects.Select(o => (o.Key, o.Rank)));
        Assert.Equal([4L], part.Tensors["w"].Chunks.Select(c => c.Box.Offsets[0]));
    }

    [Fact]
    public void A_JSON_step_should_read_as_the_same_metadata_as_its_binary_form()
    {
        var store = Store();
        SavedCheckpoint.Save(store, 1, world: 2);
        var binary = store.ReadMetadata(1);
        SavedCheckpoint.RewriteAsJson(store, 1);

        var json = store.ReadMetadata(1);

        Assert.False(MetadataBinary.IsBinary(File.ReadAllBytes(MetadataPath(1))));
        Assert.Equal(MetadataJson.Serialize(binary), MetadataJson.Serialize(json));
    }

    [Fact]
    public void A_JSON_step_should_be_refused_by_the_catalogs_checksum_of_other_bytes_when_opened_by_index()
    {
        var store = Store();
        SavedCheckpoint.Save(store, 1, world: 2, json: true);
        var now = CheckpointStore.Checksum(File.ReadAllBytes(MetadataPath(1)));

        var e = Assert.Throws<CheckpointFormatException>(() => store.OpenMetadata(1, "0123456789abcdef"));

        Assert.Equal($"'step-00000001/metadata.json': its checksum {now} differs from the 0123456789abcdef the catalog recorded at commit: the document was changed or corrupted", e.Message);
    }

    [Fact]
    public void Binary_metadata_copied_into_another_steps_directory_should_be_refused_when_opened_by_index()
    {
        var store = Store();
        SavedCheckpoint.Save(store, 1, world: 2);
        SavedCheckpoint.Save(store, 2, world: 2);
        File.Copy(MetadataPath(1), MetadataPath(2), overwrite: true);

        var e = Assert.Throws<CheckpointFormatException>(() => store.OpenMetadata(2));

        Assert.Equal("'step-00000002/metadata.json': \"step\" is 1 but the document is in the directory of step 2: it is another step's metadata, not this step's", e.Message);
    }
}

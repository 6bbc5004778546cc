using System.Text;

namespace ActorCkpt.Io.Tests;

/// <summary>The ranks of a node share one parse of a step's metadata, never a stale or unchecked one.</summary>
public class MetadataSharingSpec : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointStore _store;

    public MetadataSharingSpec()
    {
        _store = new CheckpointStore(new LocalBlobStore(_dir.Path));
    }

    public void Dispose() => _dir.Dispose();

    private string MetadataPath(long step) => Path.Combine(_dir.Path, CheckpointLayout.StepDirectory(step), CheckpointLayout.MetadataFile);

    [Fact]
    public async Task Ranks_reading_one_step_at_once_should_share_one_parse()
    {
        SavedCheckpoint.Save(_store, 1, world: 2);
        using var start = new Barrier(8);

        var read = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            start.SignalAndWait();
            return _store.ReadMetadata(1);
        })));

        Assert.All(read, m => Assert.Same(read[0], m));
        Assert.Same(read[0], _store.ReadMetadata(1, CheckpointStore.Checksum(File.ReadAllBytes(MetadataPath(1)))));
    }

    [Fact]
    public void A_document_rewritten_on_disk_should_be_parsed_again()
    {
        SavedCheckpoint.Save(_store, 1, world: 2, json: true);
        var first = _store.ReadMetadata(1);
        var json = File.ReadAllText(MetadataPath(1));
        var rewritten = json.Replace("\"world_size\":2", "\"world_size\": 2");
        Assert.NotEqual(json, rewritten);
        File.WriteAllText(MetadataPath(1), rewritten);

        var second = _store.ReadMetadata(1);

        Assert.NotSame(first, second);
        Assert.Equal(first.Tensors.Keys, second.Tensors.Keys);
    }

    [Fact]
    public void A_document_that_differs_from_the_catalog_checksum_should_be_refused_even_when_parsed_before()
    {
        SavedCheckpoint.Save(_store, 1, world: 2);
        var recorded = CheckpointStore.Checksum(File.ReadAllBytes(MetadataPath(1)));
        _store.ReadMetadata(1, recorded);

        var e = Assert.Throws<CheckpointFormatException>(() => _store.ReadMetadata(1, "0123456789abcdef"));

        Assert.Contains(CheckpointLayout.MetadataFile, e.Message);
        Assert.Contains($"its checksum {recorded} differs from the 0123456789abcdef the catalog recorded", e.Message);
    }

    [Fact]
    public void Only_the_document_read_last_should_be_kept()
    {
        foreach (var step in new long[] { 1, 2 }) SavedCheckpoint.Save(_store, step, world: 2);
        var one = _store.ReadMetadata(1);
        Assert.Same(one, _store.ReadMetadata(1));

        var two = _store.ReadMetadata(2);

        Assert.Same(two, _store.ReadMetadata(2));
        Assert.NotSame(one, _store.ReadMetadata(1));
    }

    [Fact]
    public void A_document_that_cannot_be_parsed_should_not_displace_the_parsed_one()
    {
        foreach (var step in new long[] { 1, 2 }) SavedCheckpoint.Save(_store, step, world: 2);
        var one = _store.ReadMetadata(1);
        File.WriteAllBytes(MetadataPath(2), Encoding.UTF8.GetBytes("{\"format\": \"actorckpt\", \"format_version\": 1"));

        Assert.Throws<CheckpointFormatException>(() => _store.ReadMetadata(2));
        Assert.Throws<CheckpointFormatException>(() => _store.ReadMetadata(2));

        Assert.Same(one, _store.ReadMetadata(1));
    }

    [Fact]
    public void Forgetting_should_parse_every_document_again()
    {
        SavedCheckpoint.Save(_store, 1, world: 2);
        var before = _store.ReadMetadata(1);

        _store.ForgetParsedMetadata();

        Assert.NotSame(before, _store.ReadMetadata(1));
    }
}

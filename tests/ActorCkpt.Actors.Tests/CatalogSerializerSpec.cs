using System.Text;

namespace ActorCkpt.Actors.Tests;

public class CatalogSerializerSpec : NodeSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 4, 0, 0, 0, TimeSpan.Zero);

    private static readonly MemoryCopies Copies = new(
        ["node-0", "node-1", "node-2"],
        [new ShardHolders("r00000-000-0a.safetensors", 0, [0, 1], []), new ShardHolders("r00001-000-0b.safetensors", 1, [1, 2], [2])],
        "00000000000000aa");

    [Fact]
    public void Every_memory_and_object_tier_record_should_round_trip_through_the_journal_serializer_under_its_manifest()
    {
        var id = Guid.NewGuid();
        ICatalogRecord[] records =
        {
            new SaveStarted(7, id, 2, "memory/step-00000007", T0, StorageTier.Memory),
            new MemoryStepCommitted(7, id, 2, 4096, Copies, T0),
            new ReplicasLost(7, "node-1", ["r00000-000-0a.safetensors"], "node-1 left the cluster", T0),
            new ReplicasLost(7, "node-2", null, "node-2 left the cluster", T0),
            new ReplicasRestored(7, "node-1", null, T0),
            new ReplicasAdded(7, "node-3", ["r00000-000-0a.safetensors"], T0),
            new StepPersisted(7, id, "00000000000000bb", T0),
            new ReplicasEvicted(7, "budget of node-0", T0),
            new CatalogSnapshot([new CatalogEntry(7, CheckpointStatus.Committed, id, 2, "memory/step-00000007", T0, T0, 2, 4096, null, null, 1, StorageTier.Memory, false, Copies)]),
            new StepUploaded(7, id, "s3://bucket/job", "00000000000000bb", 2, 4096, T0),
            new UploadDeleted(7, "the object tier keeps the newest 2 steps", T0),
            // A disk step whose only copy is in the object tier, and one on both: neither may be read by a build that knows no object tier.
            new CatalogSnapshot([new CatalogEntry(8, CheckpointStatus.Committed, id, 2, "step-00000008", T0, T0, 2, 4096, "00000000000000cc", null, 1, StorageTier.Object,
                Uploaded: "s3://bucket/job", UploadedChecksum: "00000000000000cc")]),
            new CatalogSnapshot([new CatalogEntry(9, CheckpointStatus.Committed, id, 2, "step-00000009", T0, T0, 2, 4096, "00000000000000dd", null, 1,
                Uploaded: "az://container/job", UploadedChecksum: "00000000000000dd")]),
            // An opening of a catalog kept outside its root, and a disk snapshot that carries the last one.
            new CatalogOpened("/ckpt/run", T0),
            new CatalogSnapshot([new CatalogEntry(3, CheckpointStatus.Committed, id, 2, "step-00000003", T0, T0, 2, 10, "0000000000000001", null, 1)],
                new CatalogOpened("/ckpt/run", T0)),
        };
        var expected = new[]
        {
            "save-started.v1", "memory-step-committed.v1", "replicas-lost.v1", "replicas-lost.v1", "replicas-restored.v1", "replicas-added.v1", "step-persisted.v1",
            "replicas-evicted.v1", "catalog-snapshot.v2", "step-uploaded.v1", "upload-deleted.v1", "catalog-snapshot.v2", "catalog-snapshot.v2",
            "catalog-opened.v1", "catalog-snapshot.v1",
        };

        for (var i = 0; i < records.Length; i++)
        {
            var serializer = Assert.IsType<CatalogSerializer>(Sys.Serialization.FindSerializerFor(records[i]));
            var manifest = serializer.Manifest(records[i]);
            Assert.Equal(expected[i], manifest);
            var copy = CatalogSerializer.Decode(serializer.ToBinary(records[i]), manifest);
            Assert.Equal(Json(records[i]), Json(copy));
        }
    }

    [Fact]
    public void A_disk_record_should_be_written_as_before_and_an_old_one_should_read_as_disk()
    {
        var id = Guid.Parse("0a0b0c0d-0000-0000-0000-000000000001");
        Assert.Equal("""{"step":3,"save_id":"0a0b0c0d-0000-0000-0000-000000000001","world_size":2,"directory":"step-00000003","time":"2026-12-04T00:00:00+00:00"}""",
            Json(new SaveStarted(3, id, 2, "step-00000003", T0)));
        var diskEntry = new CatalogEntry(3, CheckpointStatus.Committed, id, 2, "step-00000003", T0, T0, 2, 10, "0000000000000001", null, 1);
        Assert.Equal("""{"step":3,"status":"committed","save_id":"0a0b0c0d-0000-0000-0000-000000000001","world_size":2,"directory":"step-00000003","started_at":"2026-12-04T00:00:00+00:00","ended_at":"2026-12-04T00:00:00+00:00","files":2,"bytes":10,"metadata_checksum":"0000000000000001","reason":null,"attempts":1}""",
            Json(diskEntry));
        var serializer = (CatalogSerializer)Sys.Serialization.FindSerializerFor(new CatalogSnapshot([diskEntry]));
        Assert.Equal("catalog-snapshot.v1", serializer.Manifest(new CatalogSnapshot([diskEntry])));

        var old = Encoding.UTF8.GetBytes("""
            {"entries":[{"step":3,"status":"committed","save_id":"0a0b0c0d-0000-0000-0000-000000000001","world_size":2,"directory":"step-00000003",
            "started_at":"2026-11-23T00:00:00+00:00","ended_at":"2026-11-23T00:00:01+00:00","files":2,"bytes":10,"metadata_checksum":"0000000000000001","reason":null,"attempts":1}]}
            """);
        var catalog = new CheckpointCatalog((CatalogSnapshot)CatalogSerializer.Decode(old, "catalog-snapshot.v1"));
        var entry = catalog[3]!;

        Assert.Equal((StorageTier.Disk, false, (MemoryCopies?)null, true, false), (entry.Tier, entry.Persisted, entry.Memory, entry.OnDisk, entry.InMemory));
        Assert.Equal(new long[] { 3 }, catalog.DiskSteps);
        Assert.DoesNotContain("tier", Json(catalog.ToSnapshot()));
        Assert.DoesNotContain("opened", Json(catalog.ToSnapshot()));
    }

    private static string Json(object record) => System.Text.Json.JsonSerializer.Serialize(record, record.GetType());
}

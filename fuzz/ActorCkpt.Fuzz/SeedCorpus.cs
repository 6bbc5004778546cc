using System.Text;

namespace ActorCkpt.Fuzz;

/// <summary>
/// Writes the seed corpus (fuzz/corpus/TARGET/...): documents the project itself writes (a saved
/// checkpoint's metadata and data files, shards and the index an export makes, the default
/// settings) and a few edge cases each. Run again after a format change; the files are committed.
/// </summary>
internal static class SeedCorpus
{
    /// <summary>Writes every target's seeds under <paramref name="root"/>, replacing files of the same name.</summary>
    public static void Write(string root, string referenceConf)
    {
        var work = Directory.CreateTempSubdirectory("actorckpt-seed-");
        try
        {
            var store = new CheckpointStore(new LocalBlobStore(work.FullName));
            Save(store, step: 1, world: 2);
            Save(store, step: 2, world: 1);
            var step1 = Path.Combine(work.FullName, CheckpointLayout.StepDirectory(1));
            var step2 = Path.Combine(work.FullName, CheckpointLayout.StepDirectory(2));

            var metadata = Target(root, "metadata");
            // Saves commit the binary form: the JSON seeds are its version-1 documents.
            var saved = MetadataJson.Serialize(store.ReadMetadata(1));
            Put(metadata, "saved-2-ranks.json", saved);
            Put(metadata, "saved-1-rank.json", MetadataJson.Serialize(store.ReadMetadata(2)));
            Put(metadata, "empty-object.json", "{}");
            Put(metadata, "another-version.json", "{\"format\":\"actorckpt\",\"format_version\":99}");
            Put(metadata, "huge-numbers.json", Encoding.UTF8.GetString(saved)
                .Replace("\"offset\":0", "\"offset\":9223372036854775807").Replace("\"lengths\":[", "\"lengths\":[4611686018427387904,"));

            var binary = Target(root, "metadata-bin");
            var committed = File.ReadAllBytes(Path.Combine(step1, CheckpointLayout.MetadataFile));
            Put(binary, "saved-2-ranks.bin", committed);
            Put(binary, "saved-1-rank.bin", File.ReadAllBytes(Path.Combine(step2, CheckpointLayout.MetadataFile)));
            Put(binary, "truncated-header.bin", committed[..40]);
            Put(binary, "truncated-sections.bin", committed[..(committed.Length - 9)]);
            var flipped = (byte[])committed.Clone();
            flipped[^5] ^= 0x10;
            Put(binary, "page-flipped.bin", flipped);
            var counted = (byte[])committed.Clone();
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(counted.AsSpan(MetadataBinary.HeaderLength + 3 * MetadataBinary.SectionEntryLength), uint.MaxValue);
            Put(binary, "huge-tensor-count.bin", counted);

            var safetensors = Target(root, "safetensors");
            foreach (var file in Directory.GetFiles(step1, "*.safetensors").Order(StringComparer.Ordinal).Take(2))
                Put(safetensors, Path.GetFileName(file), File.ReadAllBytes(file));
            Put(safetensors, "shard-a.safetensors", HuggingFaceIndexTarget.Shard(HuggingFaceIndexTarget.ShardA));
            Put(safetensors, "empty-header.safetensors", Header("{}"));
            Put(safetensors, "length-past-end.safetensors", new byte[] { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, (byte)'{', (byte)'}' });
            Put(safetensors, "overflowing-shape.safetensors",
                Header("{\"t\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}"));

            var index = Target(root, "hf-index");
            var tensors = HuggingFaceIndexTarget.Tensors;
            Put(index, "two-shards.json", "{\n  \"metadata\": {\n    \"total_size\": 36\n  },\n  \"weight_map\": {\n" +
                string.Join(",\n", tensors.Select(t => $"    \"{t.Key}\": \"{t.File}\"")) + "\n  }\n}");
            Put(index, "empty-map.json", "{\"weight_map\":{}}");
            Put(index, "path-outside.json", "{\"weight_map\":{\"a\":\"../" + HuggingFaceIndexTarget.ShardA + "\"}}");
            Put(index, "wrong-shard.json", $"{{\"weight_map\":{{\"a\":\"{HuggingFaceIndexTarget.ShardB}\"}}}}");

            var replicas = Target(root, "replica");
            var replica = Replica(work.FullName);
            Put(replicas, "saved.replica", replica);
            Put(replicas, "truncated.replica", replica[..(replica.Length - 1)]);
            var header = (byte[])replica.Clone();
            header[70] ^= 0x10;
            Put(replicas, "header-flipped.replica", header);
            var items = (byte[])replica.Clone();
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(items.AsSpan(52), 1u << 31);
            Put(replicas, "huge-item-count.replica", items);

            var settings = Target(root, "settings");
            Put(settings, "reference.conf", referenceConf);
            Put(settings, "overrides.conf", "actorckpt { writer.pool-size = 2, retention.keep-last = 3, catalog.provider = postgres, catalog.connection-string = \"Host=h\" }");
            Put(settings, "misspelled.conf", "actorckpt.writer.pool-sise = 2");
            Put(settings, "huge-size.conf", "actorckpt.writer.checksum-block-size = 1TiB");
            Put(settings, "section-as-value.conf", "actorckpt.writer = 3");
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    /// <summary>
    /// Saves a float32 [8, 4] tensor "w" row-sharded over <paramref name="world"/> ranks, a
    /// replicated "b" and a per-rank entry, through the Io layer alone (plan, data files, commit).
    /// </summary>
    private static void Save(CheckpointStore store, long step, int world)
    {
        const int rows = 8, cols = 4;
        var plans = Enumerable.Range(0, world).Select(r =>
        {
            long q = rows / world, rem = rows % world, start = r * q + Math.Min(r, rem), len = q + (r < rem ? 1 : 0);
            return new LocalSavePlan(r, world, new[]
            {
                WriteItem.ForTensor("w", r, 0, DType.Float32, new long[] { rows, cols }, new TensorBox(new[] { start, 0L }, new[] { len, (long)cols })),
                WriteItem.ForTensor("b", r, 1, DType.Float32, new long[] { 3 }, TensorBox.Whole(new long[] { 3 })),
                WriteItem.ForObject("rng", r, 2, ObjectScope.Rank, 4),
            });
        }).ToArray();
        var plan = GlobalSavePlanner.Create(plans, new[] { "n", "n" }, new Dictionary<int, string>(), SavePlanSettings.Default, tag: "seed");
        store.PrepareStep(step);
        var results = plan.Files.Select(f => DataFileBufferWriter.Write(store.Blobs, CheckpointLayout.StepDirectory(step), f,
            f.Items.Select(i => (ReadOnlyMemory<byte>)new byte[i.Kind == WriteItemKind.Object ? 4 : i.Box.Volume * 4]).ToArray(), 4096,
            new Dictionary<string, string> { ["format"] = "pt" })).ToArray();
        store.Commit(MetadataBuilder.Build(step, plan, results, DateTimeOffset.UnixEpoch));
    }

    /// <summary>A replica of step 1 written by the replica store: a float32 [8, 4] tensor, a per-rank entry.</summary>
    private static byte[] Replica(string work)
    {
        var store = new ReplicaStore(work, ReplicaLayout.Namespace(work), "seed");
        var plan = new FileWritePlan("r00000-000-seed.safetensors", 0, 0, new[]
        {
            WriteItem.ForTensor("w", 0, 0, DType.Float32, new long[] { 8, 4 }, TensorBox.Whole(new long[] { 8, 4 })),
            WriteItem.ForObject("rng", 0, 1, ObjectScope.Rank, 4),
        });
        using (var writer = store.Create(1, Guid.Parse("5eed5eed-0000-0000-0000-000000000001"), plan, 4096, new Dictionary<string, string> { ["format"] = "pt" }))
        {
            writer.Append(0, 0, new byte[128]);
            writer.Append(1, 0, new byte[] { 1, 2, 3, 4 });
            writer.Complete();
        }
        return File.ReadAllBytes(Path.Combine(store.Root, ReplicaLayout.StepDirectory(1), ReplicaLayout.ReplicaName(plan.FileName)));
    }

    /// <summary>A safetensors file of header <paramref name="json"/> and no data.</summary>
    private static byte[] Header(string json)
    {
        var bytes = new byte[8 + json.Length];
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), (ulong)json.Length);
        Encoding.ASCII.GetBytes(json).CopyTo(bytes, 8);
        return bytes;
    }

    private static string Target(string root, string name) => Directory.CreateDirectory(Path.Combine(root, name)).FullName;

    private static void Put(string directory, string name, string text) => Put(directory, name, Encoding.UTF8.GetBytes(text));

    private static void Put(string directory, string name, byte[] bytes) => File.WriteAllBytes(Path.Combine(directory, name), bytes);
}

using System.Runtime.InteropServices;

namespace ActorCkpt.Io.Tests;

/// <summary>Writes small checkpoints through the Io layer alone (no actors): plan, data files, commit.</summary>
internal static class SavedCheckpoint
{
    /// <summary>
    /// Saves a float32 [rows, cols] tensor "w" row-sharded over <paramref name="world"/> ranks, a
    /// replicated "b", and a per-rank entry, with values derived from <paramref name="step"/>.
    /// Returns the full tensor values. With <paramref name="json"/> the step's metadata is then
    /// rewritten in the JSON form (format version 1), as checkpoints committed before the binary form were.
    /// </summary>
    public static float[] Save(CheckpointStore store, long step, int world, int rows = 8, int cols = 4, int blockSize = 4096, bool json = false)
    {
        var values = Enumerable.Range(0, rows * cols).Select(i => i + step * 1000f).ToArray();
        var bias = new[] { 1f + step, 2f, 3f };
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
        var plan = GlobalSavePlanner.Create(plans, new[] { "n", "n" }, new Dictionary<int, string>(), SavePlanSettings.Default, tag: "t0");
        store.PrepareStep(step);
        var results = plan.Files.Select(f => DataFileBufferWriter.Write(store.Blobs, CheckpointLayout.StepDirectory(step), f,
            f.Items.Select(i => (ReadOnlyMemory<byte>)BytesOf(i, values, bias, cols)).ToArray(), blockSize,
            new Dictionary<string, string> { ["format"] = "pt" })).ToArray();
        store.Commit(MetadataBuilder.Build(step, plan, results, DateTimeOffset.UtcNow));
        store.MoveTracker(step);
        if (json) RewriteAsJson(store, step);
        return values;
    }

    /// <summary>Replaces step <paramref name="step"/>'s committed metadata by the same metadata in the JSON form (format version 1).</summary>
    public static void RewriteAsJson(CheckpointStore store, long step)
    {
        var json = MetadataJson.Serialize(store.ReadMetadata(step));
        File.WriteAllBytes(Path.Combine(store.Blobs.Root, CheckpointLayout.InStep(step, CheckpointLayout.MetadataFile)), json);
        store.ForgetParsedMetadata();
    }

    /// <summary>Loads all of "w" and "b" of step 1 (as <see cref="Save"/> wrote them, 8 x 4 and 3), reading and verifying every byte.</summary>
    public static void LoadAll(CheckpointStore store)
    {
        var md = store.ReadMetadata(1);
        var wanted = new[]
        {
            new WantedChunk(0, "w", DType.Float32, new long[] { 8, 4 }, TensorBox.Whole(new long[] { 8, 4 })),
            new WantedChunk(1, "b", DType.Float32, new long[] { 3 }, TensorBox.Whole(new long[] { 3 })),
        };
        var w = new float[32];
        var b = new float[3];
        new ChunkReader(store).Read(LoadPlanner.Plan(md, wanted, StrictHandling.AssumeOkUnexpected),
            (i, o, n) => (i == 0 ? MemoryMarshal.AsBytes(w.AsSpan()) : MemoryMarshal.AsBytes(b.AsSpan())).Slice((int)o, n), 2);
    }

    private static byte[] BytesOf(WriteItem item, float[] values, float[] bias, int cols)
    {
        if (item.Kind == WriteItemKind.Object) return new byte[] { (byte)item.Rank, 1, 2, 3 };
        if (item.Key == "b") return bias.SelectMany(BitConverter.GetBytes).ToArray();
        var start = (int)item.Box.Offsets[0] * cols;
        return values.Skip(start).Take((int)item.Box.Volume).SelectMany(BitConverter.GetBytes).ToArray();
    }
}

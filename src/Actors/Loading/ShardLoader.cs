using ActorCkpt.Io;
using ActorCkpt.Planner;
using TorchSharp;

namespace ActorCkpt.Actors;

/// <summary>
/// One rank's load: plan the reads against the checkpoint's metadata, read and verify them in
/// parallel straight into the target tensors (or through a contiguous CPU copy for tensors that
/// cannot be filled in place), and collect the rank's non-tensor entries. The bytes come from the
/// shared directory, or with a <see cref="RangeFetcher"/> from the nodes whose writers wrote them.
/// </summary>
internal static class ShardLoader
{
    /// <summary>
    /// Loads step <paramref name="step"/> into <paramref name="target"/>. The metadata read must
    /// match <paramref name="metadataChecksum"/>, the checksum the catalog recorded at commit (not
    /// checked when empty). Mismatched keys are handled as <paramref name="strict"/> says; the
    /// ones to log come back in <c>Warnings</c>. <paramref name="progress"/> hears the destination bytes each read filled.
    /// </summary>
    public static async Task<(LoadResult Result, IReadOnlyList<string> Warnings)> LoadAsync(
        CheckpointStore store, RankState target, long step, string metadataChecksum, StrictHandling strict, int parallelism, RangeFetcher? fetch,
        IProgress<long>? progress = null)
    {
        var metadata = store.ReadMetadata(step, metadataChecksum);
        var wanted = target.Tensors.Select((t, i) => new WantedChunk(i, t.Key, t.DType, t.GlobalShape, t.Box)).ToArray();
        var plan = LoadPlanner.Plan(metadata, wanted, strict);
        var warnings = plan.Warnings(strict, $"step {step}", target.Rank);

        var nodes = metadata.Files.ToDictionary(f => f.Name, f => f.Node, StringComparer.Ordinal);
        var reader = new CheckpointReader(store);
        using (var destinations = new LoadDestinations(target.Tensors))
        {
            if (fetch is null)
            {
                reader.Read(plan, destinations.Bytes, parallelism, progress);
            }
            else
            {
                using var throttle = new SemaphoreSlim(parallelism);
                await Task.WhenAll(plan.Reads.Select(async read =>
                {
                    await throttle.WaitAsync();
                    try
                    {
                        var bytes = await fetch(nodes[read.Source.Bytes.File], step, read.Source.Bytes.File,
                            read.Source.Bytes.Offset + read.RangeStart, read.RangeLength);
                        CheckpointReader.Apply(read, bytes, CheckpointReader.Window(read, destinations.Bytes));
                        progress?.Report(read.DestinationBytes);
                    }
                    finally
                    {
                        throttle.Release();
                    }
                }));
            }
            destinations.CopyToTargets();
        }

        var objects = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var entry in metadata.Objects.Where(o => o.Scope == ObjectScope.Global || o.Rank == target.Rank))
        {
            byte[] bytes;
            if (fetch is null)
            {
                bytes = reader.ReadObject(step, entry);
            }
            else
            {
                bytes = await fetch(nodes[entry.Bytes.File], step, entry.Bytes.File, entry.Bytes.Offset, entry.Bytes.Length);
                CheckpointReader.Verify(bytes, entry.Bytes, 0, entry.Key);
            }
            if (!objects.TryAdd(entry.Key, bytes))
                throw new ActorCkptException($"step {step} holds entry '{entry.Key}' twice for rank {target.Rank}");
        }
        var result = new LoadResult(step, metadata.WorldSize, objects,
            plan.ReturnedMissingKeys(strict), plan.ReturnedUnexpectedKeys(strict),
            plan.BytesToRead + objects.Values.Sum(b => (long)b.Length));
        return (result, warnings);
    }
}

using ActorCkpt.Io;
using ActorCkpt.Planner;
using TorchSharp;

namespace ActorCkpt.Actors;

/// <summary>
/// One rank's load: plan the reads against the checkpoint's metadata, read and verify them in
/// parallel straight into the target tensors (or through a contiguous CPU copy for tensors that
/// cannot be filled in place), and collect the rank's non-tensor entries.
/// </summary>
internal static class ShardLoader
{
    /// <summary>Loads step <paramref name="step"/> (newest committed when null) into <paramref name="target"/>.</summary>
    public static LoadResult Load(CheckpointStore store, RankState target, long? step, bool allowPartial, int parallelism)
    {
        var resolved = step ?? store.LatestStep()
                       ?? throw new CheckpointNotFoundException($"no committed checkpoint in '{store.Blobs.Root}'");
        var metadata = store.ReadMetadata(resolved);
        var wanted = target.Tensors.Select((t, i) => new WantedChunk(i, t.Key, t.DType, t.GlobalShape, t.Box)).ToArray();
        var plan = LoadPlanner.Plan(metadata, wanted, allowPartial);

        foreach (var t in target.Tensors.Where(t => t.Box.Volume * DTypes.ElementSize(t.DType) > int.MaxValue))
            throw new ActorCkptException($"'{t.Key}': loading a local tensor over 2 GiB is not supported yet");

        var staging = target.Tensors.Select(t => TensorBytes.IsDirect(t.Tensor)
            ? null
            : torch.empty(t.Tensor.shape, t.Tensor.dtype, torch.CPU)).ToArray();
        try
        {
            new CheckpointReader(store).Read(plan, i => (staging[i] ?? target.Tensors[i].Tensor).bytes, parallelism);
            for (var i = 0; i < staging.Length; i++)
                if (staging[i] is { } s) target.Tensors[i].Tensor.copy_(s);
        }
        finally
        {
            foreach (var s in staging) s?.Dispose();
        }

        var reader = new CheckpointReader(store);
        var objects = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var entry in metadata.Objects.Where(o => o.Scope == ObjectScope.Global || o.Rank == target.Rank))
            if (!objects.TryAdd(entry.Key, reader.ReadObject(resolved, entry)))
                throw new ActorCkptException($"step {resolved} holds entry '{entry.Key}' twice for rank {target.Rank}");
        return new LoadResult(resolved, metadata.WorldSize, objects, plan.MissingKeys, plan.UnexpectedKeys,
            plan.BytesToRead + objects.Values.Sum(b => (long)b.Length));
    }
}

using TorchSharp;

namespace ActorCkpt;

/// <summary>
/// Reading a checkpoint directory without starting a node or building a model, OLMo-core's
/// <c>load_keys</c> and <c>get_checkpoint_metadata</c>: for tools, notebooks and tests.
/// </summary>
public static class CheckpointFiles
{
    /// <summary>The metadata of step <paramref name="step"/> (the newest committed when null) under <paramref name="directory"/>.</summary>
    public static CheckpointMetadata GetCheckpointMetadata(string directory, long? step = null)
    {
        var store = CheckpointDirectory.Open(directory);
        return store.ReadMetadata(store.ResolveStep(step));
    }

    /// <summary>
    /// The full (unsharded) tensors <paramref name="keys"/> of step <paramref name="step"/> (newest
    /// when null), as CPU tensors of their saved dtype, every byte verified. The caller owns (and
    /// disposes) them. Throws naming a key the step lacks.
    /// </summary>
    public static IReadOnlyDictionary<string, torch.Tensor> LoadKeys(string directory, IEnumerable<string> keys, long? step = null)
    {
        var store = CheckpointDirectory.Open(directory);
        var metadata = store.ReadMetadata(store.ResolveStep(step));
        var loaded = new Dictionary<string, torch.Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var key in keys)
            {
                var saved = metadata.Tensor(key);
                var tensor = torch.empty(saved.Shape.ToArray(), TorchDTypes.ToScalarType(saved.DType), torch.CPU);
                loaded[key] = tensor;
                var whole = TensorBox.Whole(saved.Shape);
                using var destinations = new LoadDestinations([new TensorEntry(key, tensor, saved.Shape, whole)]);
                new ChunkReader(store).ReadBox(metadata, saved, whole, destinations.Bytes, 4);
            }
            return loaded;
        }
        catch
        {
            foreach (var t in loaded.Values) t.Dispose();
            throw;
        }
    }
}

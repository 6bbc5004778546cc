using ActorCkpt.Planner;

namespace ActorCkpt.Io;

/// <summary>
/// Writes one safetensors file of full (unsharded) tensors from a committed step: each tensor read
/// from its chunks (every byte verified against its checksums), converted to the file's dtype when
/// it differs, one tensor in memory at a time. Written under a temporary name and renamed when
/// complete; <c>__metadata__</c> is <c>{"format":"pt"}</c>. Shared by export and unshard.
/// </summary>
public static class FullTensorFileWriter
{
    /// <summary>
    /// Writes <paramref name="file"/> (its name may have one directory level, created as needed) into
    /// <paramref name="output"/>; <paramref name="progress"/> hears each tensor's bytes once written.
    /// </summary>
    public static void Write(CheckpointStore store, CheckpointMetadata metadata, IBlobStore output, ExportFile file, IProgress<long>? progress = null)
    {
        var slash = file.Name.LastIndexOf('/');
        if (slash > 0) output.CreateDirectory(file.Name[..slash]);
        var (header, layout) = SafetensorsHeader.Build(file.Tensors.Select(t => (t.Key, t.DType, t.Shape)).ToArray(),
            new Dictionary<string, string> { ["format"] = "pt" });
        var temp = file.Name + ".tmp";
        using (var writer = output.Create(temp))
        {
            writer.Write(header, 0);
            foreach (var (tensor, entry) in file.Tensors.Zip(layout.Entries))
            {
                writer.Write(FullTensor(store, metadata, tensor.Key, tensor.DType), layout.DataStart + entry.Begin);
                progress?.Report(entry.Length);
            }
            writer.Flush();
        }
        output.Rename(temp, file.Name, overwrite: true);
    }

    /// <summary>The whole tensor <paramref name="key"/> of <paramref name="metadata"/>'s step as bytes of <paramref name="dtype"/>.</summary>
    public static byte[] FullTensor(CheckpointStore store, CheckpointMetadata metadata, string key, DType dtype)
    {
        var saved = metadata.Tensors.TryGetValue(key, out var t) ? t
            : throw new KeyNotFoundException($"step {metadata.Step} has no tensor '{key}'");
        var bytes = Shapes.Volume(saved.Shape) * DTypes.ElementSize(saved.DType);
        if (bytes > Array.MaxLength)
            throw new ActorCkptException($"'{key}' is {bytes} bytes: reading a whole tensor over 2 GiB is not supported yet");
        var buffer = new byte[bytes];
        var wanted = new[] { new WantedChunk(0, key, saved.DType, saved.Shape, TensorBox.Whole(saved.Shape)) };
        new CheckpointReader(store).Read(LoadPlanner.Plan(metadata, wanted, StrictHandling.AssumeOkUnexpected), _ => buffer, 4);
        if (dtype == saved.DType) return buffer;
        var converted = new byte[Shapes.Volume(saved.Shape) * DTypes.ElementSize(dtype)];
        FloatConversion.Convert(buffer, saved.DType, converted, dtype);
        return converted;
    }
}


namespace ActorCkpt;

/// <summary>What an unshard wrote.</summary>
/// <param name="Files">Every file written, relative to the output directory.</param>
/// <param name="Tensors">Tensors written.</param>
/// <param name="Bytes">Bytes of tensor data.</param>
internal sealed record UnshardResult(IReadOnlyList<string> Files, int Tensors, long Bytes);

/// <summary>
/// Writes a committed step's full (unsharded) tensors as safetensors files, OLMo-core's unshard:
/// model tensors under "model", and with <c>optim</c> the optimizer state (keys under
/// <c>optim.</c> / <c>optimizer.</c>) under "optim", laid out by <see cref="UnshardStrategy"/>.
/// Dtypes are kept. Two files are written at once, one slab of a tensor each in memory. The output
/// appears whole or not at all, as an export's does (<see cref="OutputFolder"/>).
/// </summary>
internal static class Unsharder
{
    /// <summary>
    /// Unshards step <paramref name="step"/> into <paramref name="outDir"/>; <paramref name="fileWritten"/>
    /// hears each file as it completes, <paramref name="progress"/> the total of tensor bytes and then each tensor written.
    /// <paramref name="outDir"/> must be missing, empty or a previous output of this tool (<see cref="OutputMarker"/>);
    /// <paramref name="wrapOutput"/> wraps the store the files are written through (tests inject faults there);
    /// with <paramref name="metadataChecksum"/> (the one the step's checks saw), metadata changed since is refused.
    /// </summary>
    public static UnshardResult Unshard(CheckpointStore store, long step, string outDir, UnshardStrategy strategy, long chunkBytes, bool optim,
        Action<string, int>? fileWritten = null, IByteProgress? progress = null, Func<IBlobStore, IBlobStore>? wrapOutput = null,
        string? metadataChecksum = null)
    {
        if (strategy == UnshardStrategy.Chunks && chunkBytes <= 0)
            throw new ArgumentOutOfRangeException(nameof(chunkBytes), chunkBytes, "--chunk-size must be a positive number of bytes");
        var metadata = store.ReadMetadata(step, metadataChecksum);
        ExportTensor[] Group(bool optimizer) => metadata.Tensors.Values
            .Where(t => HuggingFaceExporter.IsOptimizerState(t.Key) == optimizer)
            .Select(t => new ExportTensor(t.Key, t.DType, t.Shape))
            .ToArray();
        var files = UnshardLayout.Plan(Group(false), "model", strategy, chunkBytes)
            .Concat(optim ? UnshardLayout.Plan(Group(true), "optim", strategy, chunkBytes) : Array.Empty<ExportFile>())
            .ToArray();
        if (files.Length == 0) throw new ActorCkptException($"step {step} holds no tensor to unshard");
        using var folder = OutputFolder.Begin(outDir, "unshard", wrapOutput);
        folder.Record(step, files.Select(f => f.Name).ToArray());
        progress?.AddTotal(files.Sum(f => f.DataBytes));
        folder.Complete(() => Parallel.ForEach(files, new ParallelOptions { MaxDegreeOfParallelism = 2 }, file =>
        {
            FullTensorFileWriter.Write(store, metadata, folder.Store, file, progress);
            fileWritten?.Invoke(file.Name, file.Tensors.Count);
        }));
        return new UnshardResult(files.Select(f => f.Name).ToArray(), files.Sum(f => f.Tensors.Count), files.Sum(f => f.DataBytes));
    }
}

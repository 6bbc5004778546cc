namespace ActorCkpt;

/// <summary>
/// Everything a reader needs to load a checkpoint: the tensors with their chunks, the non-tensor
/// entries, the data files and the world size of the save. Written last; its rename is the commit.
/// </summary>
/// <param name="FormatVersion">Version of the metadata format (<see cref="CurrentFormatVersion"/>).</param>
/// <param name="Step">Training step of the checkpoint.</param>
/// <param name="WorldSize">Number of ranks that saved it.</param>
/// <param name="CreatedUtc">When the save committed.</param>
/// <param name="Tensors">Tensors by key.</param>
/// <param name="Objects">Non-tensor entries.</param>
/// <param name="Files">Data files.</param>
public sealed record CheckpointMetadata(
    int FormatVersion,
    long Step,
    int WorldSize,
    DateTimeOffset CreatedUtc,
    IReadOnlyDictionary<string, TensorMetadata> Tensors,
    IReadOnlyList<ObjectMetadata> Objects,
    IReadOnlyList<DataFileMetadata> Files)
{
    /// <summary>The metadata format this build writes and reads.</summary>
    public const int CurrentFormatVersion = 1;

    /// <summary>Bytes of data files on disk (headers included).</summary>
    public long TotalFileBytes => Files.Sum(f => f.Length);

    /// <summary>The saved tensor <paramref name="key"/>; throws <see cref="KeyNotFoundException"/> naming it and the step when there is none.</summary>
    public TensorMetadata Tensor(string key) =>
        Tensors.TryGetValue(key, out var tensor) ? tensor : throw new KeyNotFoundException($"step {Step} has no tensor '{key}'");

    /// <summary>Bytes of tensor data, each tensor counted once.</summary>
    public long TensorBytes => Tensors.Values.Sum(t => t.ByteLength);
}

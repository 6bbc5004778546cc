namespace ActorCkpt.Fuzz;

/// <summary>
/// A Hugging Face <c>model.safetensors.index.json</c>: the input is written as the index of a
/// directory holding two valid shards (<see cref="ShardA"/> with tensors a and b, <see cref="ShardB"/>
/// with c), and <see cref="HuggingFaceCheckpoint.Open"/> must accept it or refuse with
/// <see cref="CheckpointFormatException"/>. What it accepts must name only tensors the shards hold.
/// </summary>
internal sealed class HuggingFaceIndexTarget : FuzzTarget
{
    /// <summary>The first shard's file name, as an export names it.</summary>
    public const string ShardA = "model-00001-of-00002.safetensors";

    /// <summary>The second shard's file name.</summary>
    public const string ShardB = "model-00002-of-00002.safetensors";

    private readonly Lazy<string> _directory = new(CreateDirectory);

    /// <inheritdoc />
    public override string Name => "hf-index";

    /// <summary>The tensors of each shard: what the seed index maps.</summary>
    public static IReadOnlyList<(string File, string Key, DType DType, long[] Shape)> Tensors { get; } = new[]
    {
        (ShardA, "a", DType.Float32, new long[] { 2, 2 }),
        (ShardA, "b", DType.Float16, new long[] { 3 }),
        (ShardB, "c", DType.Int64, new long[] { 1 }),
    };

    /// <summary>A shard's bytes: its header as the project builds it, then zeros.</summary>
    public static byte[] Shard(string file)
    {
        var (header, parsed) = SafetensorsHeader.Build(
            Tensors.Where(t => t.File == file).Select(t => (t.Key, t.DType, (IReadOnlyList<long>)t.Shape)).ToArray(),
            new Dictionary<string, string> { ["format"] = "pt" });
        var bytes = new byte[header.Length + (parsed.Entries.Count == 0 ? 0 : parsed.Entries.Max(e => e.End))];
        header.CopyTo(bytes, 0);
        return bytes;
    }

    /// <inheritdoc />
    protected override void Feed(ReadOnlySpan<byte> input)
    {
        var directory = _directory.Value;
        File.WriteAllBytes(Path.Combine(directory, HuggingFaceExporter.IndexFile), input.ToArray());
        var checkpoint = HuggingFaceCheckpoint.Open(directory);
        foreach (var (key, source) in checkpoint.SourceKeys)
            if (!Tensors.Any(t => t.Key == source) || !checkpoint.Metadata.Tensors.ContainsKey(key))
                throw new InvalidOperationException($"accepted tensor '{key}' ('{source}') is not in the shards");
    }

    /// <inheritdoc />
    protected override bool IsBadInput(Exception e) => e is CheckpointFormatException;

    /// <summary>A directory of this process under the temporary folder, with both shards, removed at exit.</summary>
    private static string CreateDirectory()
    {
        var directory = Path.Combine(Path.GetTempPath(), $"actorckpt-fuzz-hf-{Environment.ProcessId}");
        Directory.CreateDirectory(directory);
        foreach (var file in new[] { ShardA, ShardB }) File.WriteAllBytes(Path.Combine(directory, file), Shard(file));
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(directory, recursive: true);
        return directory;
    }
}

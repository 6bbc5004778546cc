
namespace ActorCkpt;

/// <summary>
/// Writes one safetensors file of full (unsharded) tensors from a committed step: each tensor read
/// from its chunks (every byte verified against its checksums) in slabs of consecutive elements of
/// at most <see cref="SlabBytes"/>, converted to the file's dtype when it differs, and written at its place,
/// so a tensor of any size passes through one slab of memory. Written under a temporary name and
/// renamed when complete; <c>__metadata__</c> is <c>{"format":"pt"}</c>. Shared by export and unshard.
/// </summary>
internal static class FullTensorFileWriter
{
    /// <summary>The most bytes of a tensor read at once (64 MiB): a slab, and as much again for a dtype conversion.</summary>
    public const long SlabBytes = 64L << 20;

    /// <summary>
    /// Writes <paramref name="file"/> (its name may have one directory level, created as needed) into
    /// <paramref name="output"/>, reading at most <paramref name="slabBytes"/> of a tensor at once;
    /// <paramref name="progress"/> hears each tensor's bytes once written.
    /// </summary>
    public static void Write(CheckpointStore store, CheckpointMetadata metadata, IBlobStore output, ExportFile file, IProgress<long>? progress = null,
        long slabBytes = SlabBytes)
    {
        var slash = file.Name.LastIndexOf('/');
        if (slash > 0) output.CreateDirectory(file.Name[..slash]);
        var (header, layout) = SafetensorsHeader.Build(file.Tensors.Select(t => (t.Key, t.DType, t.Shape)).ToArray(),
            new Dictionary<string, string> { ["format"] = "pt" });
        var temp = file.Name + ExportLayout.WritingSuffix;
        using (var writer = output.Create(temp))
        {
            writer.Write(header, 0);
            foreach (var (tensor, entry) in file.Tensors.Zip(layout.Entries))
            {
                WriteTensor(store, metadata, tensor.Key, tensor.DType, writer, layout.DataStart + entry.Begin, slabBytes);
                progress?.Report(entry.Length);
            }
            writer.Flush();
        }
        output.Rename(temp, file.Name, overwrite: true);
    }

    /// <summary>Writes the whole tensor <paramref name="key"/> as bytes of <paramref name="dtype"/> at <paramref name="offset"/>, a slab at a time.</summary>
    private static void WriteTensor(CheckpointStore store, CheckpointMetadata metadata, string key, DType dtype, IBlobWriter writer, long offset, long slabBytes)
    {
        var saved = metadata.Tensor(key);
        var whole = TensorBox.Whole(saved.Shape);
        int savedSize = DTypes.ElementSize(saved.DType), size = DTypes.ElementSize(dtype);
        var reader = new ChunkReader(store);
        var slabElements = Math.Max(1, slabBytes / Math.Max(savedSize, size));
        var buffer = new byte[Math.Min(whole.Volume, slabElements) * savedSize];
        var converted = dtype == saved.DType ? null : new byte[Math.Min(whole.Volume, slabElements) * size];
        foreach (var slab in BoxSplitter.Split(whole, [whole], slabElements))
        {
            // A slab of the whole tensor is one run of its elements: read it as a chunk of its own.
            Span<byte> bytes = buffer.AsSpan(0, checked((int)(slab.Volume * savedSize)));
            reader.ReadBox(metadata, saved, slab, (_, at, length) => buffer.AsSpan(checked((int)at), length), 4);
            if (converted is not null)
            {
                var into = converted.AsSpan(0, checked((int)(slab.Volume * size)));
                FloatConversion.Convert(bytes, saved.DType, into, dtype);
                bytes = into;
            }
            writer.Write(bytes, offset + Shapes.LinearIndex(saved.Shape, slab.Offsets.ToArray()) * size);
        }
    }
}

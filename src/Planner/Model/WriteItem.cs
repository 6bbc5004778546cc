namespace ActorCkpt;

/// <summary>
/// One thing a rank has to write: a chunk of a tensor or the bytes of a non-tensor entry.
/// Carries sizes and places, never bytes, so plans stay small enough for any transport.
/// </summary>
/// <param name="Kind">Tensor chunk or non-tensor entry.</param>
/// <param name="Key">Flattened state key ("model.layers.0.weight").</param>
/// <param name="Rank">Rank that holds the bytes.</param>
/// <param name="Index">Position of the item in that rank's local plan; the rank's staged buffer of the same index holds its bytes.</param>
/// <param name="DType">Element type (<see cref="DType.UInt8"/> for non-tensor entries).</param>
/// <param name="GlobalShape">Shape of the whole tensor (for an entry: its byte length).</param>
/// <param name="Box">The part of the tensor this rank holds.</param>
/// <param name="Scope">For non-tensor entries, whether the value is global or per rank.</param>
internal sealed record WriteItem(
    WriteItemKind Kind,
    string Key,
    int Rank,
    int Index,
    DType DType,
    IReadOnlyList<long> GlobalShape,
    TensorBox Box,
    ObjectScope Scope)
{
    /// <summary>A chunk of a tensor held by <paramref name="rank"/>.</summary>
    public static WriteItem ForTensor(string key, int rank, int index, DType dtype, IReadOnlyList<long> globalShape, TensorBox box) =>
        new(WriteItemKind.Tensor, key, rank, index, dtype, globalShape.ToArray(), box, ObjectScope.Global);

    /// <summary>The bytes of a non-tensor entry of <paramref name="length"/> bytes.</summary>
    public static WriteItem ForObject(string key, int rank, int index, ObjectScope scope, long length) =>
        new(WriteItemKind.Object, key, rank, index, DType.UInt8, new[] { length }, TensorBox.Whole(new[] { length }), scope);

    /// <summary>Bytes this item occupies in a data file.</summary>
    public long ByteLength => Box.Volume * DTypes.ElementSize(DType);

    /// <summary>The item's name inside its safetensors data file (<see cref="StorageNames"/>); unique within a save.</summary>
    public string StorageName => Kind == WriteItemKind.Object ? StorageNames.Entry(Key, Scope, Rank) : StorageNames.Chunk(Key, Box, GlobalShape);
}

namespace ActorCkpt;

/// <summary>A saved tensor: global dtype and shape, and the disjoint chunks that cover it.</summary>
/// <param name="Key">Flattened state key.</param>
/// <param name="DType">Element type.</param>
/// <param name="Shape">Global shape.</param>
/// <param name="Chunks">Chunks, each stored once; together they cover the tensor exactly.</param>
public sealed record TensorMetadata(string Key, DType DType, IReadOnlyList<long> Shape, IReadOnlyList<StoredChunk> Chunks)
{
    /// <summary>Bytes of the whole tensor.</summary>
    public long ByteLength => Shapes.Volume(Shape) * DTypes.ElementSize(DType);
}

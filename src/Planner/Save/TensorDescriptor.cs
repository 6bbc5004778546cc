namespace ActorCkpt;

/// <summary>A tensor as the whole job sees it: its key, element type and global shape.</summary>
/// <param name="Key">Flattened state key.</param>
/// <param name="DType">Element type.</param>
/// <param name="Shape">Global shape.</param>
internal sealed record TensorDescriptor(string Key, DType DType, IReadOnlyList<long> Shape);

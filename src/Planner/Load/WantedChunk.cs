namespace ActorCkpt;

/// <summary>A chunk a rank wants filled on load: its tensor's key, dtype and global shape, and its box.</summary>
/// <param name="Target">The caller's index of the destination (one per local tensor).</param>
/// <param name="Key">Flattened state key.</param>
/// <param name="DType">Element type of the destination.</param>
/// <param name="GlobalShape">Global shape the destination belongs to.</param>
/// <param name="Box">The destination's place in the global tensor.</param>
internal sealed record WantedChunk(int Target, string Key, DType DType, IReadOnlyList<long> GlobalShape, TensorBox Box);

namespace ActorCkpt;

/// <summary>One saved chunk of a tensor.</summary>
/// <param name="Box">The chunk's place in the global tensor.</param>
/// <param name="StorageName">Its name inside the data file.</param>
/// <param name="Rank">The rank whose bytes were written.</param>
/// <param name="Bytes">Where the bytes are (row-major, contiguous).</param>
public sealed record StoredChunk(TensorBox Box, string StorageName, int Rank, StoredBytes Bytes);

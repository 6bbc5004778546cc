namespace ActorCkpt;

/// <summary>A saved non-tensor entry (bytes or JSON the host serialized).</summary>
/// <param name="Key">Flattened state key.</param>
/// <param name="Scope">Global, or per rank.</param>
/// <param name="Rank">For a per-rank entry, its rank; for a global one, the rank that wrote it.</param>
/// <param name="StorageName">Its name inside the data file.</param>
/// <param name="Bytes">Where the bytes are.</param>
public sealed record ObjectMetadata(string Key, ObjectScope Scope, int Rank, string StorageName, StoredBytes Bytes);

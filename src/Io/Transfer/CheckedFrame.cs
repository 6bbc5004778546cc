namespace ActorCkpt;

/// <summary>
/// A data frame a receiver checked: where it lay in the transfer, how long it was, and the
/// xxHash3-64 its bytes were found to have. The same hash as a data file's block checksums, so a
/// frame that is exactly one block proves that block without hashing it again.
/// </summary>
/// <param name="Position">Its first byte's place in the transfer.</param>
/// <param name="Length">Its bytes.</param>
/// <param name="Checksum">xxHash3-64 of its bytes, as checked on arrival.</param>
internal readonly record struct CheckedFrame(long Position, int Length, ulong Checksum);

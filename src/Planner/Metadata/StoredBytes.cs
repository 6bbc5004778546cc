namespace ActorCkpt;

/// <summary>
/// Where an item's bytes sit on disk and how to check them: a byte range of a data file and
/// the xxHash3 checksum of every <see cref="BlockSize"/>-byte block of that range (the last
/// block may be shorter). Per-block checksums let a load verify exactly the ranges it reads.
/// </summary>
/// <param name="File">Data file name inside the step directory.</param>
/// <param name="Offset">Absolute byte offset of the item in the file.</param>
/// <param name="Length">Byte length of the item.</param>
/// <param name="BlockSize">Bytes per checksum block.</param>
/// <param name="BlockChecksums">One checksum per block, in order.</param>
public sealed record StoredBytes(string File, long Offset, long Length, int BlockSize, IReadOnlyList<ulong> BlockChecksums);

namespace ActorCkpt;

/// <summary>
/// What a tmpfs replica's header says (<see cref="ReplicaFile"/>): whose data file the payload is and
/// where each item lies in it, with its checksums. Offsets are the data file's own (relative to the
/// payload), as the metadata records them.
/// </summary>
/// <param name="Step">The step the replica belongs to.</param>
/// <param name="SaveId">The save attempt that wrote it.</param>
/// <param name="Rank">The rank whose items the data file holds.</param>
/// <param name="FileName">The data file's name (plain).</param>
/// <param name="PayloadLength">Bytes of the data file that follow the header.</param>
/// <param name="HeaderLength">Bytes of the header: the payload starts there.</param>
/// <param name="Result">The data file as its writer reported it (its length is <paramref name="PayloadLength"/>).</param>
internal sealed record ReplicaHeader(long Step, Guid SaveId, int Rank, string FileName, long PayloadLength, int HeaderLength, FileWriteResult Result);

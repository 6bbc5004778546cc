namespace ActorCkpt;

/// <summary>A published replica a host's store holds, as its header describes it.</summary>
/// <param name="Step">Its step.</param>
/// <param name="SaveId">The save attempt that wrote it.</param>
/// <param name="Rank">The rank whose items it holds.</param>
/// <param name="DataFile">The data file it is a replica of.</param>
/// <param name="FileBytes">Bytes of the replica file (header and payload).</param>
/// <param name="Result">The data file as its writer reported it.</param>
internal sealed record HeldReplica(long Step, Guid SaveId, int Rank, string DataFile, long FileBytes, FileWriteResult Result);

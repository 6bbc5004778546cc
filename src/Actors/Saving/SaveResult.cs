namespace ActorCkpt;

/// <summary>What one rank's committed save amounts to.</summary>
/// <param name="Step">The step committed.</param>
/// <param name="Rank">The rank whose save this is.</param>
/// <param name="Files">Data files the checkpoint holds (all ranks').</param>
/// <param name="Bytes">Bytes of the checkpoint's data files (all ranks').</param>
/// <param name="BytesStaged">Bytes this rank copied to host memory before its tensors were free again.</param>
/// <param name="StagedAfter">From the call to staged: how long the training loop had to wait.</param>
/// <param name="CommittedAfter">From the call to committed.</param>
public sealed record SaveResult(long Step, int Rank, int Files, long Bytes, long BytesStaged, TimeSpan StagedAfter, TimeSpan CommittedAfter);

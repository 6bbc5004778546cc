namespace ActorCkpt;

/// <summary>How much memory a host's replica store takes.</summary>
/// <param name="FileBytes">Bytes of every file in the host's step directories (replicas and those being written).</param>
/// <param name="TmpfsUsed">Bytes in use on the file system holding it (statfs), all users included.</param>
/// <param name="TmpfsSize">Size of that file system (statfs): what a budget in percent is a share of.</param>
/// <param name="SpareBytes">Bytes of the host's spare files: evicted replicas waiting to be overwritten (<see cref="ReplicaStore.Recycle"/>).</param>
internal sealed record ReplicaUsage(long FileBytes, long TmpfsUsed, long TmpfsSize, long SpareBytes);

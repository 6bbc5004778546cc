namespace ActorCkpt;

/// <summary>How much memory a host's replica store takes.</summary>
/// <param name="FileBytes">Bytes of every file under the host's directory (replicas and those being written).</param>
/// <param name="TmpfsUsed">Bytes in use on the file system holding it (statfs), all users included.</param>
/// <param name="TmpfsSize">Size of that file system (statfs): what a budget in percent is a share of.</param>
internal sealed record ReplicaUsage(long FileBytes, long TmpfsUsed, long TmpfsSize);

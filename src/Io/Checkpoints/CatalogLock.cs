namespace ActorCkpt;

/// <summary>
/// The lock on a root's catalog (<see cref="CheckpointLayout.CatalogLockFile"/>): one planner per
/// root, so no second job journals over a catalog or removes another's saves in flight as debris.
/// A refusal names the root, the lock file and its holder (<see cref="RootLockedException"/>).
/// </summary>
internal static class CatalogLock
{
    /// <summary>Takes the lock of <paramref name="blobs"/>' root until the result is disposed; throws <see cref="RootLockedException"/> when another holder has it.</summary>
    public static IDisposable Take(IBlobStore blobs)
    {
        try
        {
            return blobs.Lock(CheckpointLayout.CatalogLockFile);
        }
        catch (LockHeldException e)
        {
            throw new RootLockedException(blobs.Root, e);
        }
    }

    /// <summary>Throws <see cref="RootLockedException"/> when another holder has the lock now (a check at start, so the caller hears of it at once rather than at its first save).</summary>
    public static void EnsureFree(IBlobStore blobs) => Take(blobs).Dispose();
}

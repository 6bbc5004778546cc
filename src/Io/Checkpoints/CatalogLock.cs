namespace ActorCkpt;

/// <summary>
/// The lock on a root's catalog (<see cref="CheckpointLayout.CatalogLockFile"/>): one planner per
/// root, so no second job journals over a catalog or removes another's saves in flight as debris.
/// A refusal names the root, the lock file and its holder (<see cref="RootLockedException"/>).
/// </summary>
internal static class CatalogLock
{
    /// <summary>
    /// Takes the lock of <paramref name="blobs"/>' root until the result is disposed; throws <see cref="RootLockedException"/>
    /// when another holder has it, and <see cref="ActorCkptException"/> before any lock file is made when the root is
    /// another root's object tier (<see cref="CheckpointStore.TierOfAnotherRoot"/>): no planner, job or check runs there.
    /// </summary>
    public static IDisposable Take(IBlobStore blobs)
    {
        if (new CheckpointStore(blobs).TierOfAnotherRoot() is { } tier) throw new ActorCkptException(tier);
        try
        {
            return blobs.Lock(CheckpointLayout.CatalogLockFile);
        }
        catch (LockHeldException e)
        {
            throw new RootLockedException(blobs.Root, e);
        }
        catch (Exception e) when (StorageErrors.IsReadOnly(e))
        {
            throw new ReadOnlyRootException(blobs.Root, e);
        }
    }

    /// <summary>Why <paramref name="blobs"/>' root cannot be written (its lock cannot even be created), or null when it can: it can be loaded from, not saved to.</summary>
    public static string? WhyReadOnly(IBlobStore blobs) => Probe(blobs) is ReadOnlyRootException e ? e.Message : null;

    /// <summary>The lock file and its holder ("'…/catalog.lock' is locked by pid … on host …") when another holder has <paramref name="blobs"/>' lock now; null when it is free or the root is read-only.</summary>
    public static string? WhyHeld(IBlobStore blobs) => Probe(blobs) is RootLockedException e ? e.InnerException?.Message ?? e.Message : null;

    /// <summary>
    /// Throws <see cref="RootLockedException"/> when another holder has the lock now (a check at start, so the
    /// caller hears of it at once rather than at its first save), or what <see cref="Take"/> throws for an object tier.
    /// </summary>
    /// <remarks>A read-only root has no lock to take: nothing can be saved there, and loads need none.</remarks>
    public static void EnsureFree(IBlobStore blobs)
    {
        if (Probe(blobs) is RootLockedException held) throw held;
    }

    /// <summary>Takes the lock and lets it go at once: null when it was free, else why it could not be taken (held, or a read-only root).</summary>
    private static ActorCkptException? Probe(IBlobStore blobs)
    {
        try
        {
            Take(blobs).Dispose();
            return null;
        }
        catch (Exception e) when (e is RootLockedException or ReadOnlyRootException)
        {
            return (ActorCkptException)e;
        }
    }
}

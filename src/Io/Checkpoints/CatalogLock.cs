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
        catch (Exception e) when (StorageErrors.IsReadOnly(e))
        {
            throw new ReadOnlyRootException(blobs.Root, e);
        }
    }

    /// <summary>Why <paramref name="blobs"/>' root cannot be written (its lock cannot even be created), or null when it can: it can be loaded from, not saved to.</summary>
    public static string? WhyReadOnly(IBlobStore blobs)
    {
        try
        {
            Take(blobs).Dispose();
            return null;
        }
        catch (ReadOnlyRootException e)
        {
            return e.Message;
        }
        catch (RootLockedException)
        {
            return null;
        }
    }

    /// <summary>The lock file and its holder ("'…/catalog.lock' is locked by pid … on host …") when another holder has <paramref name="blobs"/>' lock now; null when it is free or the root is read-only.</summary>
    public static string? WhyHeld(IBlobStore blobs)
    {
        try
        {
            Take(blobs).Dispose();
            return null;
        }
        catch (RootLockedException e)
        {
            return e.InnerException?.Message ?? e.Message;
        }
        catch (ReadOnlyRootException)
        {
            return null;
        }
    }

    /// <summary>Throws <see cref="RootLockedException"/> when another holder has the lock now (a check at start, so the caller hears of it at once rather than at its first save).</summary>
    /// <remarks>A read-only root has no lock to take: nothing can be saved there, and loads need none.</remarks>
    public static void EnsureFree(IBlobStore blobs)
    {
        try
        {
            Take(blobs).Dispose();
        }
        catch (ReadOnlyRootException)
        {
        }
    }
}

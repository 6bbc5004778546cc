namespace ActorCkpt;

/// <summary>Opens the storage a checkpoint root names: a directory (the default), or an object store by URI (<c>az://</c>, <c>s3://</c>).</summary>
internal static class BlobStores
{
    /// <summary>
    /// The store of <paramref name="root"/>. An object-store root is checked at once: refused
    /// credentials or a missing container or bucket (unless <see cref="ObjectStoreOptions.CreateMissing"/>)
    /// are one <see cref="ObjectStoreException"/> line naming it, not a failure at the first save.
    /// </summary>
    public static IBlobStore Open(string root, ObjectStoreOptions objectStore)
    {
        if (ObjectRoot.ForeignUri(root) is { } foreign) throw new ActorCkptException(foreign);
        if (!ObjectRoot.IsObjectRoot(root))
            return LocalRoot.InsideAnotherRoot(root) is { } nested ? throw new ActorCkptException(nested) : new LocalBlobStore(root);
        var location = ObjectRoot.Parse(root);
        var client = ObjectClients.Open(location, objectStore);
        try
        {
            new ObjectRetries(objectStore).RunAsync($"{client.Describe}: opening the root",
                c => client.EnsureContainerAsync(objectStore.CreateMissing, c), CancellationToken.None).GetAwaiter().GetResult();
            return new ObjectBlobStore(location, client, objectStore, StateDirectory(location, objectStore));
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>True when <paramref name="root"/> is a local directory (or names none yet), false for an object-store URI.</summary>
    public static bool IsDirectory(string root) => !ObjectRoot.IsObjectRoot(root);

    /// <summary>The local directory of an object-store root's catalog, lock and staged files: the one configured, else <see cref="ObjectRootState.DefaultDirectory"/>.</summary>
    public static string StateDirectory(ObjectRoot root, ObjectStoreOptions options) =>
        options.StateDirectory is { } configured ? Path.GetFullPath(configured) : ObjectRootState.DefaultDirectory(root);
}

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
            return LocalRoot.InsideAnotherRoot(root) is { } nested ? throw new ActorCkptException(nested) : new LocalBlobStore(root, checkpointRoot: true);
        var location = ObjectRoot.Parse(root);
        var client = ObjectClients.Open(location, objectStore);
        try
        {
            var retries = new ObjectRetries(objectStore);
            retries.RunAsync($"{client.Describe}: opening the root",
                c => client.EnsureContainerAsync(objectStore.CreateMissing, c), CancellationToken.None).GetAwaiter().GetResult();
            if (InsideAnotherObjectRoot(location, client, retries) is { } nested) throw new ActorCkptException(nested);
            return new ObjectBlobStore(location, client, objectStore, StateDirectory(location, objectStore));
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>
    /// As <see cref="LocalRoot.InsideAnotherRoot"/> for an object-store root: one line when a segment
    /// of its prefix is a folder another root or an object tier owns (<see cref="NestedRoot"/>), its
    /// <see cref="CheckpointLayout.RootIdFile"/> or tier marker beside it. Only such segments cost a request (two at most).
    /// </summary>
    private static string? InsideAnotherObjectRoot(ObjectRoot location, IObjectClient client, ObjectRetries retries)
    {
        var segments = location.Prefix.TrimEnd('/').Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (var i = segments.Length - 1; i >= 0; i--)
        {
            if (NestedRoot.OwnedFolder(segments[i]) is not { } folder) continue;
            var parent = string.Concat(segments[..i].Select(s => s + "/"));
            var owner = NestedRoot.Owner(file => retries.RunAsync($"{client.Describe}: {parent}{file}",
                c => client.LengthAsync(parent + file, c), CancellationToken.None).GetAwaiter().GetResult() is not null);
            if (owner is not null) return NestedRoot.Problem(location.ToString(), folder, segments[i], owner, (location with { Prefix = parent }).ToString());
        }
        return null;
    }

    /// <summary>True when <paramref name="root"/> is a local directory (or names none yet), false for an object-store URI.</summary>
    public static bool IsDirectory(string root) => !ObjectRoot.IsObjectRoot(root);

    /// <summary>The local directory of an object-store root's catalog, lock and staged files: the one configured, else <see cref="ObjectRootState.DefaultDirectory"/>.</summary>
    public static string StateDirectory(ObjectRoot root, ObjectStoreOptions options) =>
        options.StateDirectory is { } configured ? Path.GetFullPath(configured) : ObjectRootState.DefaultDirectory(root);
}

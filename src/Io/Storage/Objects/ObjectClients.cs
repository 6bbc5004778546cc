namespace ActorCkpt;

/// <summary>Opens the <see cref="IObjectClient"/> of an object-store root's container.</summary>
internal static class ObjectClients
{
    /// <summary>
    /// The client of <paramref name="root"/>'s container, with <paramref name="options"/> over the
    /// environment (<see cref="ObjectStoreOptions.WithEnvironment"/>). Missing credentials are one line
    /// naming what to set; nothing is sent yet (<see cref="IObjectClient.EnsureContainerAsync"/> is the first request).
    /// </summary>
    public static IObjectClient Open(ObjectRoot root, ObjectStoreOptions options)
    {
        options = options.WithEnvironment(root.Service);
        return root.Service == ObjectService.Azure
            ? new AzureObjectClient(root.Container, options)
            : new S3ObjectClient(root.Container, options);
    }
}

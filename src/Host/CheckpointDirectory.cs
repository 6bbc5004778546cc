
namespace ActorCkpt;

/// <summary>Opens a checkpoint directory by its path, for the commands of the tool.</summary>
internal static class CheckpointDirectory
{
    /// <summary>
    /// The checkpoints under <paramref name="dir"/>, a directory or an object-store URI (reached as
    /// <paramref name="objectStore"/> and the environment say); throws naming it when it does not exist.
    /// </summary>
    public static CheckpointStore Open(string dir, ObjectStoreOptions? objectStore = null) =>
        ObjectRoot.ForeignUri(dir) is { } foreign ? throw new ActorCkptException(foreign)
        : LocalRoot.Problem(dir) is { } problem
            ? throw new DirectoryNotFoundException(problem)
            : new CheckpointStore(BlobStores.Open(dir, objectStore ?? new ObjectStoreOptions()));
}

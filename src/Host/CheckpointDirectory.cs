
namespace ActorCkpt;

/// <summary>Opens a checkpoint directory by its path, for the commands of the tool.</summary>
internal static class CheckpointDirectory
{
    /// <summary>The checkpoints under <paramref name="dir"/>; throws naming it when it does not exist.</summary>
    public static CheckpointStore Open(string dir) =>
        Directory.Exists(dir)
            ? new CheckpointStore(new LocalBlobStore(dir))
            : throw new DirectoryNotFoundException($"'{dir}' does not exist");
}

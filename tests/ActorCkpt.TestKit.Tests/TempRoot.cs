namespace ActorCkpt.TestKit.Tests;

/// <summary>A checkpoint root of a test's own, removed afterwards.</summary>
internal sealed class TempRoot : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("actorckpt-testkit-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A node still closing its catalog: the temporary directory is left to the system.
        }
    }
}

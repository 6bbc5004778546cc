namespace ActorCkpt.Hosting.Tests;

/// <summary>A fresh directory path per test (created by whoever needs it), removed afterwards.</summary>
internal sealed class TempDirectory : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "actorckpt-hosting-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try
        {
            if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A stopped host's retention deletion still in flight: the directory is left to the system.
        }
    }
}

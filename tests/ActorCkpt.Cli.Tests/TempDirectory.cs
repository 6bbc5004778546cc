namespace ActorCkpt.Cli.Tests;

/// <summary>A fresh directory path per test (created by whoever needs it), removed afterwards.</summary>
internal sealed class TempDirectory : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "actorckpt-host-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        // Retention removes old steps in the background, and a command run in this process may
        // still be removing one when the test ends: a directory that vanishes while the delete
        // walks the tree is gone already, and the walk starts again over what is left.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
                return;
            }
            catch (DirectoryNotFoundException) when (attempt < 10)
            {
            }
        }
    }
}

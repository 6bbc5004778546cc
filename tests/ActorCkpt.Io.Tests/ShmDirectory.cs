namespace ActorCkpt.Io.Tests;

/// <summary>
/// A fresh directory per test under /dev/shm when there is one (replicas live in tmpfs), else under
/// the temporary directory; removed afterwards.
/// </summary>
internal sealed class ShmDirectory : IDisposable
{
    public ShmDirectory() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : System.IO.Path.GetTempPath(),
        "actorckpt-io-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
    }
}

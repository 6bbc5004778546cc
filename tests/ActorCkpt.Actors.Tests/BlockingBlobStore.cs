using ActorCkpt.Io;

namespace ActorCkpt.Actors.Tests;

/// <summary>
/// A store whose data-file writes hang until <see cref="Release"/>: it holds a save mid-write so
/// that a test can kill a node at that moment. Writes held fail when released; later ones go through.
/// </summary>
public sealed class BlockingBlobStore(IBlobStore inner) : IBlobStore
{
    private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ManualResetEventSlim _released = new();

    /// <summary>Completes when the first write has started (and hangs).</summary>
    public Task Entered => _entered.Task;

    /// <summary>Lets every hanging write go on, to fail.</summary>
    public void Release() => _released.Set();

    public string Root => inner.Root;

    public IBlobWriter Create(string path)
    {
        if (!path.EndsWith(".safetensors", StringComparison.Ordinal) || _released.IsSet) return inner.Create(path);
        _entered.TrySetResult();
        _released.Wait();
        throw new IOException($"'{path}': the node was killed during this write");
    }

    public IBlobReader OpenRead(string path) => inner.OpenRead(path);

    public bool Exists(string path) => inner.Exists(path);

    public void Rename(string from, string to, bool overwrite) => inner.Rename(from, to, overwrite);

    public void SyncDirectory(string path) => inner.SyncDirectory(path);

    public void CreateDirectory(string path) => inner.CreateDirectory(path);

    public void DeleteDirectory(string path) => inner.DeleteDirectory(path);

    public IReadOnlyList<string> ListDirectories(string path) => inner.ListDirectories(path);
}

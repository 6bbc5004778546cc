using ActorCkpt.Io;

namespace ActorCkpt.Actors.Tests;

/// <summary>A node's view of storage without the data files (they live on other nodes): reading one fails.</summary>
public sealed class NoDataFilesStore(IBlobStore inner) : IBlobStore
{
    public string Root => inner.Root;

    public IBlobWriter Create(string path) => inner.Create(path);

    public IBlobReader OpenRead(string path) =>
        path.EndsWith(".safetensors", StringComparison.Ordinal)
            ? throw new FileNotFoundException($"'{path}' is not on this node")
            : inner.OpenRead(path);

    public bool Exists(string path) => inner.Exists(path);

    public void Rename(string from, string to, bool overwrite) => inner.Rename(from, to, overwrite);

    public void SyncDirectory(string path) => inner.SyncDirectory(path);

    public void CreateDirectory(string path) => inner.CreateDirectory(path);

    public void DeleteDirectory(string path) => inner.DeleteDirectory(path);

    public IReadOnlyList<string> ListDirectories(string path) => inner.ListDirectories(path);
}

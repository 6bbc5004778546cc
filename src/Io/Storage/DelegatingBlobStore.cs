namespace ActorCkpt;

/// <summary>
/// A store that passes every call to another one: the base of wrappers that change one or two
/// operations (fault injection in tests, stores that see only part of the data).
/// </summary>
internal abstract class DelegatingBlobStore(IBlobStore inner) : IBlobStore
{
    /// <summary>The wrapped store.</summary>
    protected IBlobStore Inner => inner;

    /// <inheritdoc />
    public virtual string Root => inner.Root;

    /// <inheritdoc />
    public virtual IBlobWriter Create(string path) => inner.Create(path);

    /// <inheritdoc />
    public virtual IBlobReader OpenRead(string path) => inner.OpenRead(path);

    /// <inheritdoc />
    public virtual bool Exists(string path) => inner.Exists(path);

    /// <inheritdoc />
    public virtual bool IsRegularFile(string path) => inner.IsRegularFile(path);

    /// <inheritdoc />
    public virtual void Rename(string from, string to, bool overwrite) => inner.Rename(from, to, overwrite);

    /// <inheritdoc />
    public virtual void SyncDirectory(string path) => inner.SyncDirectory(path);

    /// <inheritdoc />
    public virtual void CreateDirectory(string path) => inner.CreateDirectory(path);

    /// <inheritdoc />
    public virtual void DeleteFile(string path) => inner.DeleteFile(path);

    /// <inheritdoc />
    public virtual void DeleteDirectory(string path) => inner.DeleteDirectory(path);

    /// <inheritdoc />
    public virtual IReadOnlyList<string> ListDirectories(string path) => inner.ListDirectories(path);

    /// <inheritdoc />
    public virtual IDisposable Lock(string path) => inner.Lock(path);
}

namespace ActorCkpt;

/// <summary>
/// The files of a store under one directory of it: every path is taken below <c>prefix</c>. The
/// memory tier keeps its steps' metadata under <c>&lt;root&gt;/memory</c> this way, through the same
/// <see cref="CheckpointStore"/> code (and the same fault-injecting wrappers) as disk steps.
/// </summary>
internal sealed class PrefixedBlobStore : DelegatingBlobStore
{
    private readonly string _prefix;

    /// <summary>The files of <paramref name="inner"/> under <paramref name="prefix"/>, a plain directory name.</summary>
    public PrefixedBlobStore(IBlobStore inner, string prefix) : base(inner)
    {
        if (!MetadataValidator.IsPlainFileName(prefix)) throw new ArgumentException($"'{prefix}' is not a plain directory name", nameof(prefix));
        _prefix = prefix;
    }

    /// <inheritdoc />
    public override string Root => Path.Combine(Inner.Root, _prefix);

    /// <inheritdoc />
    public override IBlobWriter Create(string path) => Inner.Create(Under(path));

    /// <inheritdoc />
    public override IBlobReader OpenRead(string path) => Inner.OpenRead(Under(path));

    /// <inheritdoc />
    public override bool Exists(string path) => Inner.Exists(Under(path));

    /// <inheritdoc />
    public override bool IsRegularFile(string path) => Inner.IsRegularFile(Under(path));

    /// <inheritdoc />
    public override void Rename(string from, string to, bool overwrite) => Inner.Rename(Under(from), Under(to), overwrite);

    /// <inheritdoc />
    public override void SyncDirectory(string path) => Inner.SyncDirectory(Under(path));

    /// <inheritdoc />
    public override void CreateDirectory(string path) => Inner.CreateDirectory(Under(path));

    /// <inheritdoc />
    public override void DeleteFile(string path) => Inner.DeleteFile(Under(path));

    /// <inheritdoc />
    public override void DeleteDirectory(string path) => Inner.DeleteDirectory(Under(path));

    /// <inheritdoc />
    public override IReadOnlyList<string> ListDirectories(string path) => Inner.ListDirectories(Under(path));

    /// <inheritdoc />
    public override IDisposable Lock(string path) => Inner.Lock(Under(path));

    private string Under(string path) => path.Length == 0 ? _prefix : _prefix + "/" + path;
}

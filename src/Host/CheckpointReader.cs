using Microsoft.Extensions.Logging;
using TorchSharp;

namespace ActorCkpt;

/// <summary>
/// A checkpoint root opened read-only, for evaluation jobs, notebooks and tools: no ActorSystem,
/// no cluster, no catalog lock, and nothing written (not even the root's id), so it opens a root
/// that a live <see cref="Checkpointer"/> holds. It lists the committed steps and loads any of them
/// into any rank layout (resharding), as <see cref="ICheckpointer.LoadAsync(RankState, long?, StrictHandling?, IProgress{long}?, CancellationToken)"/> does,
/// or reads whole tensors by key (OLMo-core's <c>load_keys</c>).
/// </summary>
/// <remarks>
/// <para>
/// Every data byte is verified against its block checksums, as in a live load. The metadata
/// document is not cross-checked against the checksum the catalog recorded at commit: the
/// catalog is the live process's journal (a SQLite file or a database), which a reader cannot
/// open without writing to it or taking its lock.
/// </para>
/// <para>
/// A reader holds no retention lease: a process saving into the same root may delete a step
/// (retention) while it is being read. Data files already opened stay readable, so such a load
/// usually completes; when the step is gone before its files are opened, the call throws
/// <see cref="CheckpointNotFoundException"/> naming the step, and a newer step can be loaded instead.
/// </para>
/// <para>Listing and loading from several threads at once is safe.</para>
/// </remarks>
public sealed class CheckpointReader
{
    private readonly CheckpointStore _store;
    private readonly CheckpointReaderOptions _options;

    /// <summary>A reader over <paramref name="blobs"/> (a wrapped store in tests).</summary>
    internal CheckpointReader(IBlobStore blobs, CheckpointReaderOptions? options = null)
    {
        _store = new CheckpointStore(blobs);
        _options = options ?? new CheckpointReaderOptions();
    }

    /// <summary>
    /// Opens the checkpoint root <paramref name="root"/> read-only: a directory, or an object store
    /// by URI (<c>az://container/prefix</c>, <c>s3://bucket/prefix</c>, credentials and endpoint from
    /// the environment: AZURE_STORAGE_CONNECTION_STRING; AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
    /// AWS_REGION, AWS_ENDPOINT_URL). No catalog is needed: the objects alone are read, with the
    /// same checks. Throws <see cref="DirectoryNotFoundException"/> when a directory does not exist,
    /// <see cref="IOException"/> when the path is a file or anything else that is not a directory,
    /// <see cref="ObjectStoreException"/> when a container or bucket does not or the credentials are
    /// refused; a root without committed steps opens (and lists none).
    /// </summary>
    public static CheckpointReader Open(string root, CheckpointReaderOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        if (ObjectRoot.ForeignUri(root) is { } foreign) throw new ActorCkptException(foreign);
        // LocalBlobStore creates a missing root: refuse it first, so a typo makes no directory.
        if (BlobStores.IsDirectory(root) && LocalRoot.Problem(Path.GetFullPath(root)) is { } problem)
        {
            var message = $"checkpoint root {problem}: pass the directory a Checkpointer saved into";
            throw RegularFile.Kind(root) == FileKind.Missing ? new DirectoryNotFoundException(message) : new IOException(message);
        }
        return new CheckpointReader(BlobStores.Open(root, new ObjectStoreOptions()), options);
    }

    /// <summary>The root's absolute path.</summary>
    public string Root => _store.Blobs.Root;

    /// <summary>The committed steps (those whose metadata is in place), oldest first; listed afresh at each call, as a live process may add and remove steps.</summary>
    public IReadOnlyList<long> Steps => _store.CommittedSteps();

    /// <summary>The newest committed step, or null when there is none; looked up afresh at each call.</summary>
    public long? LatestStep => _store.LatestStep();

    /// <summary>
    /// The metadata of step <paramref name="step"/> (the newest committed when null): its tensors,
    /// entries, files and the world size that saved it. Throws <see cref="CheckpointNotFoundException"/>
    /// when there is no such step. The document returned is shared: do not change it.
    /// </summary>
    public CheckpointMetadata ReadMetadata(long? step = null)
    {
        var resolved = Resolve(step);
        return WhileStepExists(resolved, () => _store.ReadMetadata(resolved));
    }

    /// <summary>
    /// Loads step <paramref name="step"/> (the newest committed when null) into <paramref name="target"/>,
    /// whatever rank layout saved it (resharding as needed); mismatched keys are handled as
    /// <paramref name="strict"/> says (default: <see cref="CheckpointReaderOptions.Strict"/>).
    /// <paramref name="progress"/> hears the destination bytes each read filled. Cancelled, it stops
    /// between reads and throws once no read is under way (the target is then partly filled).
    /// Throws <see cref="CheckpointNotFoundException"/> when there is no such step, or when it was
    /// deleted while being read (see the remarks on <see cref="CheckpointReader"/>).
    /// </summary>
    public Task<LoadResult> LoadAsync(RankState target, long? step = null, StrictHandling? strict = null, IProgress<long>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        return LoadCoreAsync(target, null, step, strict, progress, cancellationToken);
    }

    /// <summary>
    /// Loads step <paramref name="step"/> (the newest committed when null) into the
    /// <paramref name="parts"/> of rank <paramref name="rank"/> (of <paramref name="worldSize"/>):
    /// tensors in place, resharded to this rank's slices, then each part's other entries; as
    /// <see cref="LoadAsync(RankState, long?, StrictHandling?, IProgress{long}?, CancellationToken)"/>.
    /// </summary>
    public async Task<LoadResult> LoadAsync(int rank, int worldSize, IEnumerable<IStateful> parts, long? step = null, StrictHandling? strict = null,
        IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(parts);
        var list = parts.ToList();
        var result = await LoadCoreAsync(null, metadata => StatefulParts.ToLoad(rank, worldSize, list, metadata), step, strict, progress, cancellationToken,
            entries => StatefulParts.CheckRestore(list, entries));
        foreach (var part in list) part.Restore(result);
        return result;
    }

    /// <summary>
    /// The full (unsharded) tensors <paramref name="keys"/> of step <paramref name="step"/> (the
    /// newest committed when null), as CPU tensors of their saved dtype, every byte verified; OLMo-core's
    /// <c>load_keys</c>. The caller owns (and disposes) them. Throws <see cref="KeyNotFoundException"/>
    /// naming a key the step lacks, <see cref="CheckpointNotFoundException"/> when there is no such step.
    /// </summary>
    public IReadOnlyDictionary<string, torch.Tensor> LoadKeys(IEnumerable<string> keys, long? step = null)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var resolved = Resolve(step);
        var loaded = new Dictionary<string, torch.Tensor>(StringComparer.Ordinal);
        try
        {
            return WhileStepExists(resolved, () =>
            {
                var metadata = _store.ReadMetadata(resolved);
                var reader = new ChunkReader(_store);
                foreach (var key in keys)
                {
                    if (loaded.ContainsKey(key)) continue;
                    var saved = metadata.Tensor(key);
                    var tensor = torch.empty(saved.Shape.ToArray(), TorchDTypes.ToScalarType(saved.DType), torch.CPU);
                    loaded[key] = tensor;
                    var whole = TensorBox.Whole(saved.Shape);
                    using var destinations = new LoadDestinations([new TensorEntry(key, tensor, saved.Shape, whole)]);
                    reader.ReadBox(metadata, saved, whole, destinations.Bytes, _options.LoadParallelism);
                }
                return (IReadOnlyDictionary<string, torch.Tensor>)loaded;
            });
        }
        catch
        {
            foreach (var t in loaded.Values) t.Dispose();
            throw;
        }
    }

    private Task<LoadResult> LoadCoreAsync(RankState? target, Func<CheckpointMetadata, RankState>? prepare, long? step, StrictHandling? strict,
        IProgress<long>? progress, CancellationToken cancellationToken, Action<LoadResult>? check = null)
    {
        var mode = EnumArguments.Check(strict ?? _options.Strict, nameof(strict), "strict handling", Strictness.Names);
        // The reads block their thread (the loader reads the shared directory, no fetcher): off the caller's.
        return Task.Run(async () =>
        {
            var resolved = Resolve(step);
            try
            {
                // No catalog to consult read-only: an empty checksum means the metadata is not cross-checked.
                var (result, warnings) = await ShardLoader.LoadAsync(_store, target, resolved, metadataChecksum: "", mode, _options.LoadParallelism,
                    fetch: null, progress, prepare, cancellationToken, check: check);
                foreach (var warning in warnings) Warn(warning);
                return result;
            }
            catch (Exception e) when (DeletedMeanwhile(resolved, e))
            {
                throw Deleted(resolved);
            }
        }, cancellationToken);
    }

    /// <summary><paramref name="step"/>, or the newest committed step; throws naming the root and what it holds when there is no such step.</summary>
    private long Resolve(long? step)
    {
        if (step is { } s && (s < 0 || !_store.IsCommitted(s)))
        {
            var steps = _store.CommittedSteps();
            var held = steps.Count == 0 ? "it holds none"
                : steps.Count <= 8 ? $"committed steps: {string.Join(", ", steps)}"
                : $"{steps.Count} committed steps, {steps[0]} to {steps[^1]}";
            throw new CheckpointNotFoundException($"step {s} is not a committed checkpoint in '{Root}' ({held})");
        }
        return _store.ResolveStep(step);
    }

    /// <summary>Runs <paramref name="read"/>, turning a file gone missing because the step was deleted meanwhile into an error naming the step.</summary>
    private T WhileStepExists<T>(long step, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (DeletedMeanwhile(step, e))
        {
            throw Deleted(step);
        }
    }

    /// <summary>A file gone (as such, or as the damage a load names it) from a step that is no longer committed: the step was deleted meanwhile.</summary>
    private bool DeletedMeanwhile(long step, Exception e) =>
        (e is FileNotFoundException or DirectoryNotFoundException || e is CheckpointFormatException { InnerException: FileNotFoundException or DirectoryNotFoundException })
        && !_store.IsCommitted(step);

    private CheckpointNotFoundException Deleted(long step) =>
        new($"step {step} was deleted from '{Root}' while it was being read (retention of a process saving there; a read-only reader holds no lease): load a newer step");

    private void Warn(string warning)
    {
        if (_options.Logger is { } log) log.LogWarning("{Warning}", warning);
        else Console.Error.WriteLine($"actorckpt: {warning}");
    }
}

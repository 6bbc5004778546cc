using System.Buffers;
using TorchSharp;

namespace ActorCkpt;

/// <summary>
/// One rank's load: plan the reads against the checkpoint's metadata, read and verify them in
/// parallel straight into the target tensors (or through a contiguous CPU copy for tensors that
/// cannot be filled in place), and collect the rank's non-tensor entries. The bytes come from the
/// shared directory, or with a <see cref="RangeFetcher"/> from the nodes whose writers wrote them.
/// </summary>
internal static class ShardLoader
{
    /// <summary>
    /// Runs <paramref name="request"/>'s load of <paramref name="step"/> (resolved by its lease) on
    /// the thread pool, with <paramref name="settings"/>' strictness and parallelism (releasing its held
    /// target once it ends), and turns its end
    /// into the reply to the caller: <see cref="LoadShardSuccess"/> with the warnings to log, or
    /// <see cref="LoadShardFailure"/> (an <see cref="OperationCanceledException"/> when the load was
    /// cancelled). The task never faults.
    /// </summary>
    public static Task<(object Reply, IReadOnlyList<string> Warnings)> RunAsync(
        CheckpointStore store, LoadShard request, long step, string metadataChecksum, ActorCkptSettings settings, RangeFetcher? fetch, SharedReads? shared = null,
        MemoryLoadSource? memory = null, Func<CheckpointStore>? objectTier = null, RangesFetcher? fetchMany = null, CancellationToken stop = default)
    {
        var strict = request.Strict ?? settings.LoadStrict;
        // Stopped between reads by the caller's token or by stop (the shard actor stopping).
        var either = CancellationTokenSource.CreateLinkedTokenSource(request.Cancellation, stop);
        var cancellation = either.Token;
        // A prepared target is held as a given one is (its caller may drop it once a timeout gave up on the load).
        RankState? prepared = null;
        Func<CheckpointMetadata, RankState>? prepare = request.Prepare is { } build ? metadata => prepared = build(metadata).Hold() : null;
        // The object tier's store is opened on the pool: the first open of an object store asks the service.
        return Task.Run(() => objectTier is null
                ? LoadAsync(store, request.Target, step, metadataChecksum, strict, settings.LoadParallelism, fetch,
                    request.Progress, prepare, cancellation, shared, memory, fetchMany: fetchMany, check: request.Check)
                : LoadAsync(objectTier(), request.Target, step, metadataChecksum, strict, settings.LoadParallelism, null,
                    request.Progress, prepare, cancellation, shared, null, StorageTier.Object, check: request.Check))
            .ContinueWith(t =>
            {
                either.Dispose();
                // Nothing reads or fills the target any more.
                request.Target?.Release();
                prepared?.Release();
                return t.IsCompletedSuccessfully ? Reply(new LoadShardSuccess(t.Result.Result), t.Result.Warnings)
                    // A cancelled task carries no exception: the load stopped between reads, as its caller asked (or its actor stopped).
                    : t.IsCanceled ? Reply(new LoadShardFailure(new OperationCanceledException(request.Cancellation)), Array.Empty<string>())
                    : Reply(new LoadShardFailure(t.Exception!.InnerExceptions.Count == 1 ? t.Exception.InnerException! : t.Exception), Array.Empty<string>());
            }, TaskScheduler.Default);

        static (object, IReadOnlyList<string>) Reply(object reply, IReadOnlyList<string> warnings) => (reply, warnings);
    }

    /// <summary>
    /// Loads step <paramref name="step"/> into <paramref name="target"/>. The metadata read must
    /// match <paramref name="metadataChecksum"/>, the checksum the catalog recorded at commit (not
    /// checked when empty). Mismatched keys are handled as <paramref name="strict"/> says; the
    /// ones to log come back in <c>Warnings</c>. <paramref name="progress"/> hears the destination bytes each read filled.
    /// The target is <paramref name="target"/>, or when that is null what <paramref name="prepare"/> builds
    /// from the metadata (read under the caller's lease). A cancelled <paramref name="cancellation"/>
    /// starts no more reads and throws <see cref="OperationCanceledException"/> once the reads under way are done.
    /// With <paramref name="shared"/> (and a checksum to key them by), ranges that other loads of the
    /// same step on this node need too are read once and copied (see <see cref="SharedReads"/>).
    /// With <paramref name="memory"/>, the step is a memory step: its metadata and copies are read
    /// from there (<paramref name="store"/> and <paramref name="fetch"/> are not used), each file
    /// from the first of its holders that serves it, and resharding works as from files.
    /// <paramref name="tier"/> is what the result reports (by default disk, or memory with <paramref name="memory"/>).
    /// With <paramref name="fetch"/> and <paramref name="fetchMany"/>, small reads from one node are fetched together (<see cref="FetchGroups"/>).
    /// With <paramref name="check"/>, the non-tensor entries are read first and the result as it will be
    /// (its entries, keys and sizes) is handed to it before any tensor is filled: what it throws fails the
    /// load with the target untouched.
    /// </summary>
    public static async Task<(LoadResult Result, IReadOnlyList<string> Warnings)> LoadAsync(
        CheckpointStore store, RankState? target, long step, string metadataChecksum, StrictHandling strict, int parallelism, RangeFetcher? fetch,
        IProgress<long>? progress = null, Func<CheckpointMetadata, RankState>? prepare = null, CancellationToken cancellation = default,
        SharedReads? shared = null, MemoryLoadSource? memory = null, StorageTier? tier = null, RangesFetcher? fetchMany = null,
        Action<LoadResult>? check = null)
    {
        cancellation.ThrowIfCancellationRequested();
        if (memory is not null) store = memory.Metadata;
        // Joined before planning, so that ranks reading first keep their ranges until this one has said what it needs.
        using var session = shared is not null && metadataChecksum.Length > 0 ? shared.Join(step, metadataChecksum) : null;
        // By index: the rank reads the directory, then only the chunks its boxes overlap and its own entries.
        CheckpointMetadata metadata;
        WantedChunk[] wanted;
        using (var index = store.OpenMetadata(step, metadataChecksum))
        {
            target ??= prepare?.Invoke(index.Overview()) ?? throw new ArgumentNullException(nameof(prepare), "a load needs a target or a way to prepare one");
            if (target.Tensors.FirstOrDefault(t => t.Tensor.IsInvalid) is { } disposed)
                throw new ActorCkptException($"'{disposed.Key}' cannot be loaded into its tensor: it was disposed before the load was called");
            wanted = target.Tensors.Select((t, i) => new WantedChunk(i, t.Key, t.DType, t.GlobalShape, t.Box)).ToArray();
            metadata = index.ForRank(target.Rank, wanted);
        }
        var plan = LoadPlanner.Plan(metadata, wanted, strict, entries: (target.Rank, target.Objects.Select(o => o.Key)));
        var warnings = plan.Warnings(strict, $"step {step}", target.Rank);

        var nodes = metadata.Files.ToDictionary(f => f.Name, f => f.Node, StringComparer.Ordinal);
        var reader = new ChunkReader(store);
        using var holders = memory is null ? null : new HolderReads(step, memory);
        // Non-tensor entries from other nodes are small and each a round trip: fetched alongside the
        // tensors, all at once, instead of one after another once the tensors are in.
        var objectsLoad = holders is not null || fetch is not null
            ? FetchObjectsAsync(metadata, target.Rank, step, nodes, fetch, holders, memory, cancellation)
            : null;
        Dictionary<string, byte[]>? objects = null;
        try
        {
            if (check is not null)
            {
                objects = objectsLoad is not null ? await objectsLoad : ReadObjects(metadata, target.Rank, step, reader);
                check(Result(objects));
            }
            using (var destinations = new LoadDestinations(target.Tensors))
            using (var files = new DataFileReaders(f => store.Blobs.OpenRead(CheckpointLayout.InStep(step, f))))
            {
                Func<ReadItem, ValueTask> readOwn = holders is not null
                    ? read => holders.ReadAsync(read.Source.Bytes.File, read.RangeLength,
                        local => ChunkReader.ReadOne(read, local, destinations.Bytes),
                        address => FetchReadAsync(memory!.Fetch, address, step, read, destinations), cancellation)
                    : fetch is null
                    ? read =>
                    {
                        ChunkReader.AsDamage(step, read.Source.Bytes.File, () => ChunkReader.ReadOne(read, files.For(read.Source.Bytes.File), destinations.Bytes));
                        return ValueTask.CompletedTask;
                    }
                    : read => FetchReadAsync(fetch, nodes[read.Source.Bytes.File], step, read, destinations);
                var completed = false;
                try
                {
                    if (holders is null && fetch is not null && fetchMany is not null)
                        await SharedPlanReads.ReadGroupsAsync(plan.Reads, FetchGroups.Of(plan.Reads, r => nodes[r.Source.Bytes.File]), session,
                            destinations.Bytes, group => group.Count == 1
                                ? SharedPlanReads.OneByOne(readOwn)(group)
                                : FetchGroupAsync(fetchMany, nodes[group[0].Source.Bytes.File], step, group, destinations),
                            parallelism, progress, cancellation);
                    else
                        await SharedPlanReads.ReadAsync(plan.Reads, session, destinations.Bytes, readOwn, parallelism, progress, cancellation);
                    completed = true;
                }
                finally
                {
                    // Before the destinations go: other ranks may be copying from them.
                    if (session is not null) await session.LeaveAsync(waitForOthers: completed, cancellation);
                }
                destinations.CopyToTargets();
            }
        }
        catch when (objectsLoad is not null)
        {
            // The tensors' failure is the load's; the entries' fetches end before the holders go.
            await objectsLoad.ContinueWith(_ => { }, TaskScheduler.Default);
            throw;
        }

        objects ??= objectsLoad is not null ? await objectsLoad : ReadObjects(metadata, target.Rank, step, reader);
        return (Result(objects) with { BytesFromPeers = holders?.BytesFromPeers ?? 0 }, warnings);

        LoadResult Result(Dictionary<string, byte[]> entries) =>
            new(step, metadata.WorldSize, entries, plan.ReturnedMissingKeys(strict), plan.ReturnedUnexpectedKeys(strict),
                plan.BytesToRead + entries.Values.Sum(b => (long)b.Length))
            {
                Tier = tier ?? (memory is null ? StorageTier.Disk : StorageTier.Memory),
            };
    }

    /// <summary>The non-tensor entries <paramref name="rank"/> loads, read from the step's own files.</summary>
    private static Dictionary<string, byte[]> ReadObjects(CheckpointMetadata metadata, int rank, long step, ChunkReader reader)
    {
        var objects = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var entry in EntriesFor(metadata, rank))
            Add(objects, entry.Key, reader.ReadObject(step, entry), step, rank);
        return objects;
    }

    /// <summary>
    /// The non-tensor entries <paramref name="rank"/> loads, each fetched (and verified) at once from
    /// its holders (<paramref name="holders"/>) or the reader of the node that wrote it (<paramref name="fetch"/>).
    /// </summary>
    private static async Task<Dictionary<string, byte[]>> FetchObjectsAsync(CheckpointMetadata metadata, int rank, long step,
        IReadOnlyDictionary<string, string> nodes, RangeFetcher? fetch, HolderReads? holders, MemoryLoadSource? memory, CancellationToken cancellation)
    {
        var entries = EntriesFor(metadata, rank).ToArray();
        var fetched = await Task.WhenAll(entries.Select(entry => FetchObjectAsync(entry, step, nodes, fetch, holders, memory, cancellation)));
        var objects = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        for (var i = 0; i < entries.Length; i++) Add(objects, entries[i].Key, fetched[i], step, rank);
        return objects;
    }

    private static async Task<byte[]> FetchObjectAsync(ObjectMetadata entry, long step, IReadOnlyDictionary<string, string> nodes,
        RangeFetcher? fetch, HolderReads? holders, MemoryLoadSource? memory, CancellationToken cancellation)
    {
        var bytes = new byte[entry.Bytes.Length];
        if (holders is not null)
        {
            await holders.ReadAsync(entry.Bytes.File, bytes.Length, local =>
            {
                local.ReadExactly(bytes, entry.Bytes.Offset);
                ChunkReader.Verify(bytes, entry.Bytes, 0, entry.Key);
            }, async address =>
            {
                var frames = new List<CheckedFrame>();
                await memory!.Fetch(address, step, entry.Bytes.File, entry.Bytes.Offset, bytes, entry.Bytes.BlockSize, frames);
                ChunkReader.Verify(bytes, entry.Bytes, 0, entry.Key, frames);
            }, cancellation);
            return bytes;
        }
        cancellation.ThrowIfCancellationRequested();
        var checkedFrames = new List<CheckedFrame>();
        await fetch!(nodes[entry.Bytes.File], step, entry.Bytes.File, entry.Bytes.Offset, bytes, entry.Bytes.BlockSize, checkedFrames);
        ChunkReader.Verify(bytes, entry.Bytes, 0, entry.Key, checkedFrames);
        return bytes;
    }

    /// <summary>The non-tensor entries a rank loads: the global ones and its own.</summary>
    private static IEnumerable<ObjectMetadata> EntriesFor(CheckpointMetadata metadata, int rank) =>
        metadata.Objects.Where(o => o.Scope == ObjectScope.Global || o.Rank == rank);

    private static void Add(Dictionary<string, byte[]> objects, string key, byte[] bytes, long step, int rank)
    {
        if (!objects.TryAdd(key, bytes))
            throw new ActorCkptException($"step {step} holds entry '{key}' twice for rank {rank}");
    }

    /// <summary>
    /// Fetches the ranges of <paramref name="reads"/> from <paramref name="node"/>'s reader in one
    /// transfer, then verifies each and copies its region into its destination: each read's failure apart.
    /// </summary>
    private static async ValueTask<Exception?[]> FetchGroupAsync(RangesFetcher fetchMany, string node, long step, IReadOnlyList<ReadItem> reads,
        LoadDestinations destinations)
    {
        var ranges = reads.Select(r => new WantedRange(r.Source.Bytes.File, r.Source.Bytes.Offset + r.RangeStart, r.RangeLength, r.Source.Bytes.BlockSize)).ToArray();
        var total = checked((int)ranges.Sum(r => r.Length));
        var frames = new List<CheckedFrame>();
        var buffer = ArrayPool<byte>.Shared.Rent(total);
        try
        {
            await fetchMany(node, step, ranges, buffer.AsMemory(0, total), frames);
            var failures = new Exception?[reads.Count];
            var next = 0;
            for (int k = 0, at = 0; k < reads.Count; at += (int)reads[k].RangeLength, k++)
            {
                var length = (int)reads[k].RangeLength;
                // The frames of this read's range, at its own positions (none crosses into the next range).
                var own = new List<CheckedFrame>();
                for (; next < frames.Count && frames[next].Position < at + length; next++)
                    if (frames[next].Position >= at) own.Add(frames[next] with { Position = frames[next].Position - at });
                try
                {
                    ChunkReader.Apply(reads[k], buffer.AsSpan(at, length), ChunkReader.Window(reads[k], destinations.Bytes), own);
                }
                catch (Exception e)
                {
                    failures[k] = e;
                }
            }
            return failures;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Fetches <paramref name="read"/>'s range from <paramref name="node"/>'s reader, verifies it and copies its region into its destination.</summary>
    private static async ValueTask FetchReadAsync(RangeFetcher fetch, string node, long step, ReadItem read, LoadDestinations destinations)
    {
        var length = checked((int)read.RangeLength);
        var file = read.Source.Bytes.File;
        var frames = new List<CheckedFrame>();
        // A pooled buffer, not the tensor: ranges of many MiB, fresh each, cost page faults and
        // collections, and on these machines the kernel's first write into each page of a tensor
        // costs several microseconds however often the process wrote it (see ChunkReader).
        // The bytes reach the tensor verified.
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            await fetch(node, step, file, read.Source.Bytes.Offset + read.RangeStart, buffer.AsMemory(0, length), read.Source.Bytes.BlockSize, frames);
            ChunkReader.Apply(read, buffer.AsSpan(0, length), ChunkReader.Window(read, destinations.Bytes), frames);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

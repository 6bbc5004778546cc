
namespace ActorCkpt;

/// <summary>
/// Save rank <see cref="RankState.Rank"/>'s state as step <paramref name="Step"/>. Sent by the
/// host (in-process) to its rank's <see cref="ShardActor"/>; progress is reported on
/// <paramref name="Handle"/>: <see cref="SaveHandle.Staged"/> once the tensors are copied to host
/// memory, <see cref="SaveHandle.Committed"/> once the checkpoint's metadata is durable.
/// </summary>
/// <param name="Step">Training step of the checkpoint.</param>
/// <param name="State">The rank's tensors and entries; read during staging only (until committed with <paramref name="InPlace"/>).</param>
/// <param name="Handle">Completed by the shard actor.</param>
/// <param name="InPlace">
/// True for a save in place: writers read contiguous CPU tensors and the entries where they are
/// (no staging copy), so the state is read until <see cref="SaveHandle.Committed"/>, not only
/// during staging. A synchronous save's way to write without doubling the state's memory.
/// </param>
/// <remarks>Not a wire message: it holds the rank's live tensors and the caller's handle, and only the rank's own node sends it.</remarks>
/// <param name="Tier">The tier the save asks for (every rank of a save must ask for the same); the tier policy by default.</param>
internal sealed record SaveShard(long Step, RankState State, SaveHandle Handle, bool InPlace = false, SaveTier Tier = SaveTier.Policy);

/// <summary>
/// The caller of the save behind <paramref name="Handle"/> cancelled it (sent by the node to the
/// rank's shard actor). Staging not begun: the save ends cancelled at once; staged: the shard asks
/// the planner to abort, and the save ends cancelled when the abort is heard (its caller hears it
/// after two plan resend intervals when no planner had taken its plan); committing: ignored.
/// </summary>
/// <param name="Handle">The save's handle.</param>
/// <remarks>Not a wire message: it holds the caller's handle, and only the rank's own node sends it.</remarks>
internal sealed record CancelSave(SaveHandle Handle);

/// <summary>
/// Load a checkpoint into <paramref name="Target"/>'s tensors (allocated by the caller with the
/// layout wanted). Replied to with <see cref="LoadShardSuccess"/> or <see cref="LoadShardFailure"/>.
/// </summary>
/// <param name="Step">The step to load; null for the newest committed one.</param>
/// <param name="Target">Destination tensors and their places in the global tensors; null to build them with <paramref name="Prepare"/>.</param>
/// <param name="Strict">What to do about mismatched keys; null for <c>actorckpt.load.strict</c>.</param>
/// <param name="Progress">Hears, as each read completes, the destination bytes it filled (from the reading threads); none when null.</param>
/// <param name="Prepare">Builds the target from the step's metadata, read once the lease is held (so retention cannot remove the step in between).</param>
/// <param name="Cancellation">Stops the load between reads; it then fails with <see cref="OperationCanceledException"/>.</param>
/// <param name="ThroughReaders">True to read the data files through the readers of the nodes that wrote them, false from the directory; null for <c>actorckpt.load.source</c>.</param>
/// <param name="Only">A tier the load is limited to; null: the newest loadable step from either (memory first).</param>
/// <param name="Check">Hears the result before any tensor is filled (its entries read first); what it throws fails the load with the target untouched.</param>
/// <remarks>Not a wire message: it holds the target's tensors, callbacks and a cancellation token, and only the rank's own node sends it.</remarks>
internal sealed record LoadShard(long? Step, RankState? Target, StrictHandling? Strict = null, IProgress<long>? Progress = null,
    Func<CheckpointMetadata, RankState>? Prepare = null, CancellationToken Cancellation = default, bool? ThroughReaders = null, StorageTier? Only = null,
    Action<LoadResult>? Check = null);

/// <summary>The load of <see cref="LoadShard"/> completed and every byte read was verified.</summary>
/// <param name="Result">What was loaded.</param>
/// <remarks>Not a wire message: the answer to <see cref="LoadShard"/>, on the same node.</remarks>
internal sealed record LoadShardSuccess(LoadResult Result);

/// <summary>The load of <see cref="LoadShard"/> failed; the target's tensors may be partly filled.</summary>
/// <param name="Cause">Why, naming the keys or file at fault.</param>
/// <remarks>Not a wire message: the answer to <see cref="LoadShard"/>, on the same node; it carries the exception itself, for the caller to rethrow.</remarks>
internal sealed record LoadShardFailure(Exception Cause);

/// <summary>Outcome of a rank's load.</summary>
/// <param name="Step">The step loaded.</param>
/// <param name="SavedWorldSize">Number of ranks that saved it.</param>
/// <param name="Objects">Non-tensor entries for this rank: every global one, and this rank's own per-rank ones.</param>
/// <param name="MissingKeys">Keys of the target that the checkpoint lacked, left untouched (listed in the return_* strictness modes).</param>
/// <param name="UnexpectedKeys">Checkpoint keys the target did not name (listed in return_all).</param>
/// <param name="BytesRead">Bytes read from data files.</param>
public sealed record LoadResult(
    long Step,
    int SavedWorldSize,
    IReadOnlyDictionary<string, byte[]> Objects,
    IReadOnlyList<string> MissingKeys,
    IReadOnlyList<string> UnexpectedKeys,
    long BytesRead)
{
    /// <summary>The tier the step was read from: the checkpoint root, or the memory tier's holders.</summary>
    public StorageTier Tier { get; init; } = StorageTier.Disk;

    /// <summary>Bytes that came from other hosts' memory (a memory load's copies not held on this rank's host).</summary>
    public long BytesFromPeers { get; init; }

    /// <summary>
    /// Deserializes the JSON entry <paramref name="key"/>; throws naming the key when absent, and
    /// <see cref="ActorCkptException"/> naming it and <typeparamref name="T"/> when it does not read as one:
    /// a value of another type, or an object with a member <typeparamref name="T"/> lacks (a field renamed
    /// since the save would otherwise read as its default). Members <typeparamref name="T"/> has and the entry
    /// lacks keep their defaults; a type may take unknown members with <c>[JsonUnmappedMemberHandling(Skip)]</c>.
    /// </summary>
    public T Json<T>(string key)
    {
        if (!Objects.TryGetValue(key, out var bytes)) throw new KeyNotFoundException($"the checkpoint of step {Step} has no entry '{key}' for this rank");
        try
        {
            return System.Text.Json.JsonSerializer.Deserialize<T>(bytes, StrictJson)!;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or NotSupportedException or InvalidOperationException)
        {
            throw new ActorCkptException($"the entry '{key}' of step {Step} does not read as {typeof(T).Name}: {e.Message}", e);
        }
    }

    private static readonly System.Text.Json.JsonSerializerOptions StrictJson =
        new() { UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow };
}

/// <summary>What a committed save amounts to.</summary>
/// <param name="Step">The step committed.</param>
/// <param name="Files">Data files written.</param>
/// <param name="Bytes">Bytes of data files on disk.</param>
internal sealed record SaveSummary(long Step, int Files, long Bytes);

/// <summary>
/// This node is no longer a member of its cluster (<paramref name="Why"/>): sent by the node to each
/// of its shard actors; a save in flight fails at once, since no planner can reach it any more.
/// </summary>
/// <param name="Why">Who downed the node and what to do, in one line.</param>
/// <remarks>Not a wire message: only the rank's own node sends it.</remarks>
internal sealed record NodeLeftCluster(string Why);

using Akka.Actor;
using Akka.Streams;

namespace ActorCkpt;

/// <summary>
/// Serves byte ranges of the data files on its node's storage to ranks elsewhere (loads with
/// <c>actorckpt.load.source = reader</c>, for data that is not on shared storage). The bytes go
/// back over the bulk channel (the range offered on the node's server under a new one-time token,
/// which only the asking rank learns) or, with <c>transfer.path = stream-refs</c>, as a StreamRef of
/// checksummed chunks; never as ordinary messages. A range of the memory tier
/// (<see cref="ReadRange.Tier"/>) is read from the node's tmpfs replica store, at the data file's
/// offsets, the same way. Several ranges asked for at once (<see cref="ReadRanges"/>) are offered as
/// one transfer, or the whole request refused.
/// </summary>
internal sealed class ReaderActor : ReceiveActor
{
    private readonly IBlobStore _store;
    private readonly ReplicaStore? _replicas;
    private readonly ActorCkptSettings _settings;
    private readonly int _chunkSize;
    // Stream stages read from disk: blocking-I/O dispatcher, as for writers.
    private readonly IMaterializer _materializer = Context.Materializer(
        ActorMaterializerSettings.Create(Context.System).WithDispatcher("akka.actor.default-blocking-io-dispatcher"));

    /// <summary>Creates the reader; use <see cref="Props"/>.</summary>
    public ReaderActor(IBlobStore store, ActorCkptSettings settings, ReplicaStore? replicas = null)
    {
        _store = store;
        _replicas = replicas;
        _settings = settings;
        _chunkSize = settings.TransferChunkSize;
        Receive<ReadRange>(Serve);
        Receive<ReadRanges>(ServeMany);
    }

    /// <summary>Props of a reader over <paramref name="store"/> and, for the memory tier, <paramref name="replicas"/> (null: none held here).</summary>
    public static Props Props(IBlobStore store, ActorCkptSettings settings, ReplicaStore? replicas = null) =>
        Akka.Actor.Props.Create(() => new ReaderActor(store, settings, replicas));

    private void Serve(ReadRange request)
    {
        if (Refusal(request.Step, request.File, request.Offset, request.Length, request.Tier) is { } refused)
        {
            Sender.Tell(refused);
            return;
        }
        if (Open(request.Step, request.File, request.Tier) is not { } reader)
            return;
        if (Beyond(reader, request.Step, request.File, request.Offset, request.Length, request.Tier) is { } beyond)
        {
            reader.Dispose();
            Sender.Tell(beyond);
            return;
        }
        if (_settings.TransferOverChannel)
        {
            Offer(new BlobRangeSource(reader, request.Offset, request.Length, request.FrameSize), What(request.Step, request.File, request.Tier));
            return;
        }
        ChunkStreams.Offer(() => TransferChunks.Of(reader, request.Offset, request.Length, _chunkSize), _materializer, reader.Dispose)
            .PipeTo(Sender, success: s => new ReadRangeStreamed(s), failure: e => new ReadRangeFailure(e.Message));
    }

    private void ServeMany(ReadRanges request)
    {
        var count = request.Ranges?.Count ?? 0;
        if (count is 0 or > ReadRanges.MaxRanges)
        {
            Sender.Tell(new ReadRangeFailure($"step {request.Step}: {count} ranges asked for at once, 1 to {ReadRanges.MaxRanges} are served"));
            return;
        }
        if (!_settings.TransferOverChannel)
        {
            Sender.Tell(new ReadRangeFailure($"{Self.Path.Address} serves ranges together only over the bulk channel (its transfer.path is stream-refs)"));
            return;
        }
        var files = new Dictionary<string, IBlobReader>(StringComparer.Ordinal);
        var ranges = new List<(IBlobReader, long, long, int)>(count);
        long total = 0;
        foreach (var range in request.Ranges!)
        {
            var refused = range is null
                ? new ReadRangeFailure("'' at + is not a range of a data file")
                : Refusal(request.Step, range.File, range.Offset, range.Length, request.Tier);
            if (refused is null && !files.TryGetValue(range!.File, out _))
            {
                if (Open(request.Step, range.File, request.Tier) is not { } opened)
                {
                    // Open has told the sender why.
                    Close(files);
                    return;
                }
                files.Add(range.File, opened);
            }
            // One transfer lands in one buffer of the asking rank's.
            refused ??= Beyond(files[range!.File], request.Step, range.File, range.Offset, range.Length, request.Tier)
                        ?? ((total += range.Length) > Array.MaxLength
                            ? new ReadRangeFailure($"step {request.Step}: {count} ranges of more than {Array.MaxLength} bytes together asked for at once")
                            : null);
            if (refused is not null)
            {
                Close(files);
                Sender.Tell(refused);
                return;
            }
            ranges.Add((files[range!.File], range.Offset, range.Length, range.FrameSize));
        }
        Offer(new BlobRangesSource(files.Values.ToArray(), ranges), $"{count} ranges of step {request.Step}");
    }

    /// <summary>
    /// Why <paramref name="file"/> at <paramref name="offset"/>+<paramref name="length"/> cannot be
    /// served before the file is opened (not a plain name, a negative bound, the memory tier asked of a
    /// node that holds no replicas), or null.
    /// </summary>
    private ReadRangeFailure? Refusal(long step, string file, long offset, long length, StorageTier tier) =>
        file is null || !MetadataValidator.IsPlainFileName(file) || offset < 0 || length < 0
            ? new ReadRangeFailure($"'{file}' at {offset}+{length} is not a range of a data file")
            : tier == StorageTier.Memory && _replicas is null
            ? new ReadRangeFailure($"'{file}' of step {step}: node {Self.Path.Address} holds no memory replicas (actorckpt.tiers.memory.enabled is off there)")
            : null;

    /// <summary>The refusal of a range that ends past <paramref name="reader"/>'s file, or null.</summary>
    private ReadRangeFailure? Beyond(IBlobReader reader, long step, string file, long offset, long length, StorageTier tier) =>
        // Both non-negative: cannot wrap, as a sum could.
        length > reader.Length - offset
            ? new ReadRangeFailure($"{What(step, file, tier)} has {reader.Length} bytes, less than {offset}+{length}", Damaged: true)
            : null;

    /// <summary>How a failure names the file: its path, or its replica on this host.</summary>
    private string What(long step, string file, StorageTier tier)
    {
        var path = CheckpointLayout.InStep(step, file);
        return tier == StorageTier.Memory ? $"the replica of '{path}' on host '{_replicas!.Host}'" : $"'{path}'";
    }

    /// <summary>Opens <paramref name="file"/> of <paramref name="step"/> on <paramref name="tier"/>, or answers the sender why not and returns null.</summary>
    private IBlobReader? Open(long step, string file, StorageTier tier)
    {
        try
        {
            return tier == StorageTier.Memory ? _replicas!.OpenRead(step, file) : _store.OpenRead(CheckpointLayout.InStep(step, file));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CheckpointFormatException)
        {
            Sender.Tell(new ReadRangeFailure($"{What(step, file, tier)} on {Self.Path.Address}: {e.Message}", Damaged: CopyGone(e)));
            return null;
        }
    }

    /// <summary>A file that is not there or is cut short, or a copy whose header is damaged: gone for good, not a passing I/O error.</summary>
    internal static bool CopyGone(Exception e) => e is FileNotFoundException or DirectoryNotFoundException or EndOfStreamException or CheckpointFormatException;

    /// <summary>Offers <paramref name="source"/> on the node's bulk server under a new one-time token and tells the sender where; a source not offered is closed.</summary>
    private void Offer(ITransferSource source, string what)
    {
        var channel = BulkChannels.Get(Context.System).For(_settings);
        var token = TransferToken.New();
        try
        {
            channel.Server.OfferFetch(token, source, channel.TokenTtl);
        }
        catch (ActorCkptException e)
        {
            source.Dispose();
            Sender.Tell(new ReadRangeFailure($"{what} on {Self.Path.Address}: {e.Message}"));
            return;
        }
        Sender.Tell(new ReadRangeOffered(channel.Server.Endpoint, token));
    }

    private static void Close(Dictionary<string, IBlobReader> files)
    {
        foreach (var reader in files.Values) reader.Dispose();
    }
}

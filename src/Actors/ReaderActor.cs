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
/// offsets, the same way.
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
    }

    /// <summary>Props of a reader over <paramref name="store"/> and, for the memory tier, <paramref name="replicas"/> (null: none held here).</summary>
    public static Props Props(IBlobStore store, ActorCkptSettings settings, ReplicaStore? replicas = null) =>
        Akka.Actor.Props.Create(() => new ReaderActor(store, settings, replicas));

    private void Serve(ReadRange request)
    {
        if (!MetadataValidator.IsPlainFileName(request.File) || request.Offset < 0 || request.Length < 0)
        {
            Sender.Tell(new ReadRangeFailure($"'{request.File}' at {request.Offset}+{request.Length} is not a range of a data file"));
            return;
        }
        var memory = request.Tier == StorageTier.Memory;
        if (memory && _replicas is null)
        {
            Sender.Tell(new ReadRangeFailure(
                $"'{request.File}' of step {request.Step}: node {Self.Path.Address} holds no memory replicas (actorckpt.tiers.memory.enabled is off there)"));
            return;
        }
        var path = CheckpointLayout.InStep(request.Step, request.File);
        var what = memory ? $"the replica of '{path}' on host '{_replicas!.Host}'" : $"'{path}'";
        IBlobReader reader;
        try
        {
            reader = memory ? _replicas!.OpenRead(request.Step, request.File) : _store.OpenRead(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CheckpointFormatException)
        {
            Sender.Tell(new ReadRangeFailure($"{what} on {Self.Path.Address}: {e.Message}"));
            return;
        }
        if (request.Length > reader.Length - request.Offset) // both non-negative: cannot wrap, as a sum could
        {
            reader.Dispose();
            Sender.Tell(new ReadRangeFailure($"{what} has {reader.Length} bytes, less than {request.Offset}+{request.Length}"));
            return;
        }
        if (_settings.TransferOverChannel)
        {
            var channel = BulkChannels.Get(Context.System).For(_settings);
            var token = TransferToken.New();
            try
            {
                channel.Server.OfferFetch(token, new BlobRangeSource(reader, request.Offset, request.Length, request.FrameSize), channel.TokenTtl);
            }
            catch (ActorCkptException e)
            {
                reader.Dispose();
                Sender.Tell(new ReadRangeFailure($"{what} on {Self.Path.Address}: {e.Message}"));
                return;
            }
            Sender.Tell(new ReadRangeOffered(channel.Server.Endpoint, token));
            return;
        }
        ChunkStreams.Offer(() => TransferChunks.Of(reader, request.Offset, request.Length, _chunkSize), _materializer, reader.Dispose)
            .PipeTo(Sender, success: s => new ReadRangeStreamed(s), failure: e => new ReadRangeFailure(e.Message));
    }
}

using Akka.Streams;
using Akka.Streams.Dsl;

namespace ActorCkpt;

/// <summary>Chunks offered to another node as a StreamRef: the one way tensor bytes leave a node (never as ordinary messages).</summary>
internal static class ChunkStreams
{
    /// <summary>
    /// Materializes <paramref name="chunks"/> (enumerated as the stream asks for them) as a StreamRef.
    /// <paramref name="terminated"/> runs once the stream ends (done, failed, cancelled, or never
    /// subscribed to within the subscription timeout): from then on nothing reads the chunks' source.
    /// </summary>
    public static Task<ISourceRef<TransferChunk>> Offer(Func<IEnumerable<TransferChunk>> chunks, IMaterializer materializer, Action terminated)
    {
        var (done, source) = Source.FromEnumerator(() => chunks().GetEnumerator())
            .WatchTermination(Keep.Right)
            .ToMaterialized(StreamRefs.SourceRef<TransferChunk>(), Keep.Both)
            .Run(materializer);
        done.ContinueWith(_ => terminated(), TaskContinuationOptions.ExecuteSynchronously);
        return source;
    }
}

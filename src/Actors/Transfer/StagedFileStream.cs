using Akka.Actor;
using Akka.Streams;

namespace ActorCkpt;

/// <summary>
/// A staged data file offered to the remote writer that asked for it (<see cref="StreamFile"/>):
/// its items go out as a StreamRef of checksummed chunks, cut as the stream asks for them.
/// </summary>
internal static class StagedFileStream
{
    /// <summary>
    /// Materializes the chunks of <paramref name="file"/> from <paramref name="staged"/> (at most
    /// <paramref name="chunkSize"/> bytes each) as a StreamRef and answers <paramref name="replyTo"/>
    /// with <see cref="StreamFileSuccess"/> or <see cref="StreamFileFailure"/>. <paramref name="closed"/>
    /// goes to <paramref name="shard"/> once the stream terminates (done, failed, cancelled, or never
    /// subscribed to within the subscription timeout): from then on it reads the staged buffers no more.
    /// </summary>
    public static void Offer(StagedState staged, FileWritePlan file, int chunkSize, IMaterializer materializer, IActorRef replyTo, IActorRef shard, object closed)
    {
        var source = ChunkStreams.Offer(() => TransferChunks.Of(staged, file, chunkSize), materializer, () => shard.Tell(closed));
        source.PipeTo(replyTo, success: s => new StreamFileSuccess(s), failure: e => new StreamFileFailure("cannot stream: " + e.Message));
    }
}

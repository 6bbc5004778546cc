using Akka.Actor;
using Akka.Event;

namespace ActorCkpt;

/// <summary>
/// A staged data file pushed over the bulk channel to the remote writer that asked for it
/// (<see cref="StreamFile"/> naming its node's endpoint): the items go out in order, straight from
/// the staging buffers, each waited for while the state is still being copied.
/// </summary>
internal static class StagedFilePush
{
    /// <summary>
    /// Answers <paramref name="replyTo"/> with <see cref="StreamFileStarted"/>, then pushes
    /// <paramref name="file"/>'s bytes from <paramref name="staged"/> to <paramref name="endpoint"/>
    /// with <paramref name="token"/>. <paramref name="closed"/> goes to <paramref name="shard"/> once the
    /// push ended, however it ended: from then on it reads the staged buffers no more. A failed push
    /// is only logged here: the writer fails its attempt and asks again.
    /// </summary>
    public static void Start(BulkClient client, string endpoint, TransferToken token, StagedState staged, FileWritePlan file, IActorRef replyTo,
        IActorRef shard, object closed, ILoggingAdapter log)
    {
        replyTo.Tell(new StreamFileStarted(file.FileName), shard);
        var length = file.Items.Sum(i => i.ByteLength);
        _ = Task.Run(async () =>
        {
            try
            {
                await client.PushAsync(endpoint, token, length, Pieces(staged, file)).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                log.Warning("Push of {0} to {1} failed: {2}", file.FileName, endpoint, e.Message);
            }
            finally
            {
                shard.Tell(closed);
            }
        });
    }

    private static IEnumerable<ReadOnlyMemory<byte>> Pieces(StagedState staged, FileWritePlan file)
    {
        foreach (var item in file.Items)
        {
            staged.Progress.WaitFor(item.Index);
            yield return staged.BytesOf(item);
        }
    }
}

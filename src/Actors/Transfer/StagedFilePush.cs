using Akka.Actor;
using Akka.Event;

namespace ActorCkpt;

/// <summary>
/// A staged data file pushed over the bulk channel to the remote writer that asked for it
/// (<see cref="StreamFile"/> naming its node's endpoint): the items go out in order, straight from
/// the staging buffers, once the whole file is staged.
/// </summary>
internal static class StagedFilePush
{
    /// <summary>
    /// Pushes <paramref name="file"/>'s bytes from <paramref name="staged"/> to <paramref name="endpoint"/>
    /// with <paramref name="token"/> once every item of the file is staged (the receiver's idle
    /// timeout must not run while the copy does), then answers <paramref name="replyTo"/> with
    /// <see cref="StreamFilePushed"/>, saying how it ended. <paramref name="closed"/> goes to
    /// <paramref name="shard"/> once the push ended, however it ended: from then on it reads the
    /// staged buffers no more.
    /// </summary>
    public static void Start(BulkClient client, string endpoint, TransferToken token, StagedState staged, FileWritePlan file, IActorRef replyTo,
        IActorRef shard, object closed, ILoggingAdapter log)
    {
        var length = file.Items.Sum(i => i.ByteLength);
        _ = Task.Run(async () =>
        {
            string? failure = null;
            try
            {
                foreach (var item in file.Items) staged.Progress.WaitFor(item.Index);
                await client.PushAsync(endpoint, token, length, file.Items.Select(staged.BytesOf)).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                failure = e.Message;
                log.Warning("Push of {0} to {1} failed: {2}", file.FileName, endpoint, e.Message);
            }
            finally
            {
                shard.Tell(closed);
            }
            replyTo.Tell(new StreamFilePushed(file.FileName, failure), shard);
        });
    }
}

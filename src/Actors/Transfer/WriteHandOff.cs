using Akka.Actor;

namespace ActorCkpt;

/// <summary>
/// How a rank hands a data file to its writer: on the same node, the staged bytes by reference
/// (<see cref="WriteFile"/>); on another node, a request the writer answers by asking for the
/// bytes when it starts the file (<see cref="WriteFileStreamed"/>, then <see cref="StagedFileStream"/>).
/// </summary>
internal static class WriteHandOff
{
    /// <summary>
    /// Sends attempt <paramref name="attempt"/> at <paramref name="file"/> of step <paramref name="step"/>
    /// (attempt <paramref name="saveId"/>) to <paramref name="writer"/>; its answer goes to <paramref name="shard"/>.
    /// While <paramref name="staged"/> is still being copied, the writer waits for each item it writes.
    /// A remote writer gets the planner's <paramref name="grant"/> for the file. <paramref name="replica"/>
    /// and <paramref name="tier"/> say which copy this is and where it goes (a memory round's copies).
    /// </summary>
    public static void Send(IActorRef writer, long step, Guid saveId, FileWritePlan file, StagedState staged, IActorRef shard, int attempt, TransferToken? grant = null,
        int replica = 0, StorageTier tier = StorageTier.Disk)
    {
        if (writer is IActorRefScope { IsLocal: true })
            writer.Tell(new WriteFile(step, saveId, file, file.Items.Select(staged.BytesOf).ToArray(), shard, attempt,
                staged.Progress.IsComplete ? null : staged.Progress, replica, tier));
        else writer.Tell(new WriteFileStreamed(step, saveId, file, shard, attempt, grant, replica, tier));
    }
}


namespace ActorCkpt;

/// <summary>A rank's state ready for writers: its local plan and where each item's bytes are.</summary>
/// <param name="Plan">The local plan; item i's bytes are <paramref name="Items"/>[i].</param>
/// <param name="Items">Each item's bytes: in a staging buffer, or (in-place saves) in the tensor or entry itself; empty for an unstaged item.</param>
/// <param name="Buffers">The staging buffers among them, owned until returned to the pool.</param>
/// <param name="Fingerprint">The plan's fingerprint with every item staged (see <see cref="PreparedState.Fingerprint"/>).</param>
internal sealed record StagedState(LocalSavePlan Plan, IReadOnlyList<ReadOnlyMemory<byte>> Items, IReadOnlyList<StagingBuffer> Buffers, ulong Fingerprint)
{
    /// <summary>How far the copy into the buffers has come: an item's bytes may be read once it is staged (complete unless set).</summary>
    public StagingProgress Progress { get; init; } = StagingProgress.Completed();

    /// <summary>The bytes of item <paramref name="item"/>, for a writer.</summary>
    public ReadOnlyMemory<byte> BytesOf(WriteItem item) => Items[item.Index];
}

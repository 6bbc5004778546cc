using ActorCkpt.Planner;

namespace ActorCkpt.Actors;

/// <summary>A rank's state copied into host memory: its local plan and one buffer per item.</summary>
/// <param name="Plan">The local plan; item i's bytes are in <paramref name="Buffers"/>[i].</param>
/// <param name="Buffers">Staging buffers, owned until returned to the pool.</param>
internal sealed record StagedState(LocalSavePlan Plan, IReadOnlyList<StagingBuffer> Buffers)
{
    /// <summary>The bytes of item <paramref name="item"/>, for a writer.</summary>
    public ReadOnlyMemory<byte> BytesOf(WriteItem item) => Buffers[item.Index].Slice((int)item.ByteLength);
}

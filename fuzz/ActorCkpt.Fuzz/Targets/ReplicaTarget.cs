using System.Buffers.Binary;

namespace ActorCkpt.Fuzz;

/// <summary>
/// A tmpfs replica's header (<see cref="ReplicaFile.Decode"/>), as a holder reads every replica it
/// finds after a restart. It must accept or refuse with <see cref="CheckpointFormatException"/>;
/// what it accepts must encode back to the same header bytes.
/// </summary>
internal sealed class ReplicaTarget : FuzzTarget
{
    /// <inheritdoc />
    public override string Name => "replica";

    /// <inheritdoc />
    protected override void Feed(ReadOnlySpan<byte> input)
    {
        var bytes = input.ToArray();
        // The step its directory would give: the file's own, so the fields behind it are reached.
        var step = bytes.Length >= 32 ? BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(24)) : 0;
        var header = ReplicaFile.Decode(new MemoryBlobReader(bytes), "step/x.replica", step);
        var again = ReplicaFile.Encode(header);
        var body = 64 + (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(12));
        if (!again.AsSpan(0, body).SequenceEqual(bytes.AsSpan(0, body)))
            throw new InvalidOperationException("an accepted replica header encodes back to other bytes");
    }

    /// <inheritdoc />
    protected override bool IsBadInput(Exception e) => e is CheckpointFormatException;
}

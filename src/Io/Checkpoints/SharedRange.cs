namespace ActorCkpt;

/// <summary>
/// One byte range that ranks of a node share: read and verified by one rank (its owner) straight
/// into that rank's destination, from which the other ranks copy it until the owner's load ends.
/// Its state changes only under the lock of its <see cref="SharedReads"/>.
/// </summary>
internal sealed class SharedRange
{
    private readonly TaskCompletionSource _settled = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>A range that <paramref name="owner"/> is about to read.</summary>
    public SharedRange(SharedRangeKey key, SharedReadSession owner)
    {
        Key = key;
        Owner = owner;
    }

    /// <summary>Where a shared range is in its life.</summary>
    public enum Phase
    {
        /// <summary>Its owner is reading it.</summary>
        Reading,

        /// <summary>Read and verified: other ranks copy it from the owner's destination.</summary>
        Published,

        /// <summary>Its bytes do not match their checksums: every rank that needs it gets <see cref="Corrupt"/>.</summary>
        Corrupt,

        /// <summary>Gone (the owner's load ended, or its read failed for a reason of its own): ranks that still need it read it themselves.</summary>
        Retracted,
    }

    /// <summary>The stored bytes and region.</summary>
    public SharedRangeKey Key { get; }

    /// <summary>The rank's load that reads it.</summary>
    public SharedReadSession Owner { get; }

    /// <summary>The state; see <see cref="Phase"/>.</summary>
    public Phase State { get; private set; }

    /// <summary>The owner's read of the range, once published.</summary>
    public ReadItem? OwnerRead { get; private set; }

    /// <summary>The owner's destination, once published.</summary>
    public DestinationProvider? OwnerDestination { get; private set; }

    /// <summary>The mismatch found in the range's bytes, once <see cref="Phase.Corrupt"/>.</summary>
    public ChecksumMismatchException? Mismatch { get; private set; }

    /// <summary>Ranks copying from the owner's destination right now: the owner's load cannot end before they are done.</summary>
    public int Pins { get; set; }

    /// <summary>Completes when the range is no longer being read.</summary>
    public Task Settled => _settled.Task;

    /// <summary>The owner read and verified it into <paramref name="destination"/> as <paramref name="read"/>.</summary>
    public void Publish(ReadItem read, DestinationProvider destination)
    {
        (OwnerRead, OwnerDestination, State) = (read, destination, Phase.Published);
        _settled.TrySetResult();
    }

    /// <summary>Its bytes failed their checksums (<paramref name="mismatch"/>).</summary>
    public void Fail(ChecksumMismatchException mismatch)
    {
        (Mismatch, State) = (mismatch, Phase.Corrupt);
        _settled.TrySetResult();
    }

    /// <summary>No rank may copy it any more (one copying now finishes first: see <see cref="Pins"/>).</summary>
    public void Retract()
    {
        // Where its bytes are stays set: a rank that pinned it before this copies outside the lock,
        // and the owner keeps its destination until the pins are gone.
        State = Phase.Retracted;
        _settled.TrySetResult();
    }
}

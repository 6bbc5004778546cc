namespace ActorCkpt;

/// <summary>
/// The copy of a rank's state into its staging buffers failed before an item a writer was waiting
/// for: the writer gives the file up at once (no retry can bring the bytes), and the save fails
/// with the copy's own error on its <see cref="SaveHandle"/>.
/// </summary>
internal sealed class StagingFailedException(int item, Exception cause)
    : ActorCkptException($"item {item} was never staged: the copy into staging buffers failed ({cause.Message})", cause)
{
    /// <summary>The item (position in the rank's local plan) that was waited for.</summary>
    public int Item { get; } = item;
}

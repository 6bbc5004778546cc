namespace ActorCkpt;

/// <summary>
/// Why a node stopped without waiting for its saves in flight (a dispose's or a host's shutdown's
/// bound ran out), set by the node and read by its shard actors as they stop: a save cut off then
/// fails saying so, rather than that a shard actor stopped. Shared by the node's shard actors.
/// </summary>
internal sealed class CutOffNotice
{
    private volatile string? _why;

    /// <summary>Why saves still in flight are cut off; null while none is.</summary>
    public string? Why => _why;

    /// <summary>From now on a save still in flight when its shard actor stops fails with <paramref name="why"/>.</summary>
    public void Set(string why) => _why = why;
}

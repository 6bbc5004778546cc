namespace ActorCkpt;

/// <summary>
/// Fetches the bytes at <paramref name="offset"/> of data file <paramref name="file"/> of step
/// <paramref name="step"/> from node <paramref name="node"/> into <paramref name="into"/>, filling it
/// whole or throwing (the caller owns the memory: a pooled buffer is used again, not dropped). The
/// frames the bulk channel checked on the way go into <paramref name="frames"/> (positions relative
/// to <paramref name="into"/>); a path that checks no frames adds none.
/// </summary>
internal delegate Task RangeFetcher(string node, long step, string file, long offset, Memory<byte> into, ICollection<CheckedFrame> frames);

namespace ActorCkpt;

/// <summary>
/// Fetches the bytes at <paramref name="offset"/> of data file <paramref name="file"/> of step
/// <paramref name="step"/> from node <paramref name="node"/> into <paramref name="into"/>, filling it
/// whole or throwing (the caller owns the memory: a pooled buffer is used again, not dropped). The
/// bulk channel cuts frames of <paramref name="frameSize"/> bytes where it can (the range's block
/// size, so that a frame proves a block; 0: its own), and the frames it checked on the way go into
/// <paramref name="frames"/> (positions relative to <paramref name="into"/>); a path that checks no frames adds none.
/// </summary>
internal delegate Task RangeFetcher(string node, long step, string file, long offset, Memory<byte> into, int frameSize, ICollection<CheckedFrame> frames);

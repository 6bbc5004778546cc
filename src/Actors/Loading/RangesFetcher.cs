namespace ActorCkpt;

/// <summary>
/// Fetches <paramref name="ranges"/> of data files of step <paramref name="step"/> from node
/// <paramref name="node"/> in one transfer into <paramref name="into"/> (as long as the ranges
/// together), each range's bytes after the previous one's, filling it whole or throwing. The frames
/// checked on the way go into <paramref name="frames"/> (positions relative to <paramref name="into"/>;
/// none crosses from one range into the next).
/// </summary>
internal delegate Task RangesFetcher(string node, long step, IReadOnlyList<WantedRange> ranges, Memory<byte> into, ICollection<CheckedFrame> frames);

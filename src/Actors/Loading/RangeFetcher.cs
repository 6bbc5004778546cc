namespace ActorCkpt;

/// <summary>
/// Fetches <paramref name="length"/> bytes at <paramref name="offset"/> of data file
/// <paramref name="file"/> of step <paramref name="step"/> from node <paramref name="node"/>.
/// </summary>
internal delegate Task<byte[]> RangeFetcher(string node, long step, string file, long offset, long length);

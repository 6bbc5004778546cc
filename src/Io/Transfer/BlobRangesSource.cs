namespace ActorCkpt;

/// <summary>
/// Byte ranges of stored files served one after another to one fetch over the bulk channel, as
/// if they were one transfer: range i's bytes follow range i-1's. Frames are cut at each range's end
/// and at its own frame size, so that each frame holds bytes of one range and can prove one of its
/// blocks. Disposing it closes the files.
/// </summary>
internal sealed class BlobRangesSource : ITransferSource
{
    private readonly IReadOnlyList<IDisposable> _files;
    private readonly (IBlobReader Reader, long Offset, long Length, int FrameSize)[] _ranges;
    private readonly long[] _starts;

    /// <summary>
    /// Serves <paramref name="ranges"/> in order, each a reader among <paramref name="files"/> (owned:
    /// disposed with the source), its first byte, its length and the frame size it asks for (0: the channel's).
    /// </summary>
    public BlobRangesSource(IReadOnlyList<IDisposable> files, IReadOnlyList<(IBlobReader Reader, long Offset, long Length, int FrameSize)> ranges)
    {
        _files = files;
        _ranges = ranges.ToArray();
        _starts = new long[_ranges.Length];
        long at = 0;
        for (var i = 0; i < _ranges.Length; i++)
        {
            _starts[i] = at;
            at = checked(at + _ranges[i].Length);
        }
        Length = at;
    }

    /// <inheritdoc />
    public long Length { get; }

    /// <inheritdoc />
    public int FrameLength(long position, int channelFrameSize)
    {
        var i = RangeAt(position);
        var left = _starts[i] + _ranges[i].Length - position;
        return (int)Math.Min(ITransferSource.FramesOf(_ranges[i].FrameSize, channelFrameSize), left);
    }

    /// <inheritdoc />
    public void Read(long position, Span<byte> into)
    {
        while (!into.IsEmpty)
        {
            var i = RangeAt(position);
            var within = position - _starts[i];
            var n = (int)Math.Min(into.Length, _ranges[i].Length - within);
            _ranges[i].Reader.ReadExactly(into[..n], _ranges[i].Offset + within);
            into = into[n..];
            position += n;
        }
    }

    /// <summary>The range holding byte <paramref name="position"/> (a range of no bytes holds none).</summary>
    private int RangeAt(long position)
    {
        if (position < 0 || position >= Length) throw new ArgumentOutOfRangeException(nameof(position), position, $"the ranges hold {Length} bytes");
        var i = Array.BinarySearch(_starts, position);
        if (i < 0) i = ~i - 1;
        // Empty ranges share their start with the next: step past them.
        while (_ranges[i].Length == 0 || position >= _starts[i] + _ranges[i].Length) i++;
        return i;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var file in _files) file.Dispose();
    }
}

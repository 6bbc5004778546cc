namespace ActorCkpt;

/// <summary>
/// Where the bytes of a push go on the receiving node. The bulk server calls <see cref="Write"/>
/// with each data frame once its checksum matched, in order of position; <see cref="Complete"/> once
/// every byte arrived (before it tells the sender the transfer is done); <see cref="Abort"/> instead,
/// once, when the transfer fails. Calls come from one connection's task, one at a time.
/// </summary>
internal interface ITransferSink
{
    /// <summary>The bytes at <paramref name="position"/> of the transfer, checked.</summary>
    void Write(long position, ReadOnlySpan<byte> bytes);

    /// <summary>Every byte arrived; throwing fails the transfer.</summary>
    void Complete();

    /// <summary>The transfer failed (<paramref name="cause"/>): nothing it wrote may be kept.</summary>
    void Abort(Exception cause);
}

/// <summary>
/// What a fetch reads on the serving node: <see cref="Length"/> bytes, read on demand, then disposed
/// (whether the transfer succeeded or not).
/// </summary>
internal interface ITransferSource : IDisposable
{
    /// <summary>Bytes of the transfer.</summary>
    long Length { get; }

    /// <summary>Fills <paramref name="into"/> with the bytes at <paramref name="position"/>.</summary>
    void Read(long position, Span<byte> into);

    /// <summary>
    /// Bytes per data frame this source asks for: a stored range's block size, so that each frame's
    /// checksum is that block's. 0, or more than the channel's frame size: the channel's.
    /// </summary>
    int FrameSize => 0;

    /// <summary>
    /// Bytes of the data frame that starts at <paramref name="position"/> when the channel's frames are
    /// <paramref name="channelFrameSize"/>: <see cref="FrameSize"/> where it asks for smaller ones
    /// (at least 4 KiB), else the channel's, never past the end. A source of several ranges cuts at
    /// each range's end too, so that no frame mixes two of them.
    /// </summary>
    int FrameLength(long position, int channelFrameSize) => (int)Math.Min(FramesOf(FrameSize, channelFrameSize), Length - position);

    /// <summary>The frame size a source asking for <paramref name="asked"/> gets on a channel of <paramref name="channelFrameSize"/>.</summary>
    static int FramesOf(int asked, int channelFrameSize) => asked > 0 && asked < channelFrameSize ? Math.Max(asked, 4096) : channelFrameSize;
}

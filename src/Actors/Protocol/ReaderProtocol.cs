using Akka.Streams;

namespace ActorCkpt;

/// <summary>
/// Ask a node's <see cref="ReaderActor"/> for a byte range of one of its data files. Replied to
/// with <see cref="ReadRangeStreamed"/> or <see cref="ReadRangeFailure"/>.
/// </summary>
/// <param name="Step">The checkpoint's step.</param>
/// <param name="File">The data file (a plain name inside the step directory).</param>
/// <param name="Offset">First byte.</param>
/// <param name="Length">Bytes wanted.</param>
/// <param name="FrameSize">Bytes per bulk-channel frame wanted: the range's checksum block size, so that each frame proves its block; 0: the channel's.</param>
/// <param name="Tier">Where the file is: the node's checkpoint root (disk), or its tmpfs replica store (memory: offsets are the data file's, as on disk).</param>
/// <remarks>A wire message: sent by a loading rank to the reader of the node that wrote the file, by its path.</remarks>
internal sealed record ReadRange(long Step, string File, long Offset, long Length, int FrameSize = 0, StorageTier Tier = StorageTier.Disk) : IActorCkptMessage;

/// <summary>
/// Ask a node's <see cref="ReaderActor"/> for several byte ranges of its data files at once, to be
/// fetched as one transfer over the bulk channel (range after range): a load's small reads from
/// one node cost one round trip instead of one each. Replied to with <see cref="ReadRangeOffered"/>
/// or <see cref="ReadRangeFailure"/>; with <c>transfer.path = stream-refs</c> on the reader, refused.
/// </summary>
/// <param name="Step">The checkpoint's step.</param>
/// <param name="Ranges">The ranges, in the order their bytes are to follow each other (at most <see cref="MaxRanges"/>).</param>
/// <param name="Tier">Where the files are, as for <see cref="ReadRange"/>.</param>
/// <remarks>A wire message: sent by a loading rank to the reader of the node that wrote the files, by its path.</remarks>
internal sealed record ReadRanges(long Step, IReadOnlyList<WantedRange> Ranges, StorageTier Tier = StorageTier.Disk) : IActorCkptMessage
{
    /// <summary>The most ranges one request may ask for.</summary>
    public const int MaxRanges = 1024;
}

/// <summary>One range of a <see cref="ReadRanges"/>.</summary>
/// <param name="File">The data file (a plain name inside the step directory).</param>
/// <param name="Offset">First byte.</param>
/// <param name="Length">Bytes wanted.</param>
/// <param name="FrameSize">Bytes per frame wanted, as for <see cref="ReadRange.FrameSize"/>.</param>
internal sealed record WantedRange(string File, long Offset, long Length, int FrameSize = 0);

/// <summary>The range, as chunks (item 0, offsets relative to the range's start) through a StreamRef.</summary>
/// <param name="Source">The chunks, in order.</param>
/// <remarks>A wire message: the answer to <see cref="ReadRange"/>, from another node.</remarks>
internal sealed record ReadRangeStreamed(ISourceRef<TransferChunk> Source) : IActorCkptMessage;

/// <summary>The range, offered over the bulk channel: fetch it from <paramref name="Endpoint"/> with <paramref name="Token"/> (once).</summary>
/// <param name="Endpoint">The reader node's bulk server ("host:port").</param>
/// <param name="Token">The one-time token the range is offered under.</param>
/// <remarks>A wire message: the answer to <see cref="ReadRange"/>, from another node.</remarks>
internal sealed record ReadRangeOffered(string Endpoint, TransferToken Token) : IActorCkptMessage;

/// <summary>The range could not be read; the cause names the file.</summary>
/// <param name="Cause">Why.</param>
/// <param name="Damaged">The file is not there, is shorter than the range, or its copy's header is damaged: asking again cannot help (a memory copy is lost).</param>
/// <remarks>A wire message: the answer to <see cref="ReadRange"/>, from another node.</remarks>
internal sealed record ReadRangeFailure(string Cause, bool Damaged = false) : IActorCkptMessage;

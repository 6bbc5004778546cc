using Akka.Actor;
using Akka.Streams;

namespace ActorCkpt;

/// <summary>
/// Write one data file of step <paramref name="Step"/> from staged buffers (same node: by
/// reference). Replied to <paramref name="ReplyTo"/> with <see cref="WriteFileSuccess"/> or, once
/// every retry failed, <see cref="WriteFileFailure"/>.
/// </summary>
/// <param name="Step">The step being saved.</param>
/// <param name="SaveId">The save attempt the file belongs to.</param>
/// <param name="Plan">The file: name, rank, items in order.</param>
/// <param name="Data">Bytes of each item of <paramref name="Plan"/>, in order.</param>
/// <param name="ReplyTo">Who gets the outcome (the shard actor that owns the buffers).</param>
/// <param name="Attempt">1 for the first try; the writer increments it on each retry.</param>
/// <param name="Staging">
/// How far the staging copy has come when the file is handed over before the whole state is staged:
/// the writer waits for each item's bytes before it writes them (null: all staged already).
/// </param>
/// <param name="Replica">Which copy of the file this is (0: the primary; 1..R-1: copies on other hosts); the writer answers with it.</param>
/// <param name="Tier">Where the file goes: the checkpoint root (disk), or the node's tmpfs replica store (memory).</param>
/// <remarks>
/// Not a wire message: its buffers are the shard's memory, by reference, so a shard sends it only
/// to a writer of its own node (<see cref="WriteFileStreamed"/> goes to the others).
/// </remarks>
internal sealed record WriteFile(long Step, Guid SaveId, FileWritePlan Plan, IReadOnlyList<ReadOnlyMemory<byte>> Data, IActorRef ReplyTo, int Attempt = 1, StagingProgress? Staging = null,
    int Replica = 0, StorageTier Tier = StorageTier.Disk);

/// <summary>
/// Write one data file whose bytes are on another node. When it starts the file, the writer asks
/// <paramref name="ReplyTo"/> for them (<see cref="StreamFile"/>) and they arrive as a StreamRef of
/// checksummed chunks, each far below Akka's frame size; asking only then keeps a file queued
/// behind others from outliving its stream's subscription timeout. Replied to like
/// <see cref="WriteFile"/>; a failed attempt asks for the bytes again (<see cref="ResendWrite"/>).
/// </summary>
/// <param name="Step">The step being saved.</param>
/// <param name="SaveId">The save attempt the file belongs to.</param>
/// <param name="Plan">The file: name, rank, items in order.</param>
/// <param name="ReplyTo">The shard actor that holds the bytes.</param>
/// <param name="Attempt">1 for the first try.</param>
/// <param name="Grant">The planner's grant for the file: with it, the bytes come over the bulk channel with attempt <paramref name="Attempt"/>'s token.</param>
/// <param name="Replica">Which copy of the file this is (0: the primary); the writer answers with it.</param>
/// <param name="Tier">Where the file goes: the checkpoint root (disk), or the writer node's tmpfs replica store (memory).</param>
/// <remarks>A wire message: sent by a shard to a writer on another node.</remarks>
internal sealed record WriteFileStreamed(long Step, Guid SaveId, FileWritePlan Plan, IActorRef ReplyTo, int Attempt = 1, TransferToken? Grant = null,
    int Replica = 0, StorageTier Tier = StorageTier.Disk) : IActorCkptMessage;

/// <summary>
/// A writer starting a streamed file asks the shard for its bytes: pushed over the bulk channel to
/// <paramref name="Endpoint"/> (answered <see cref="StreamFilePushed"/> once the push ended), or as a
/// StreamRef when it names none (answered <see cref="StreamFileSuccess"/>).
/// </summary>
/// <param name="SaveId">The save attempt.</param>
/// <param name="File">The data file.</param>
/// <param name="Writer">The writer asking (must be the file's current writer).</param>
/// <param name="Endpoint">The writer node's bulk server ("host:port"), expecting the push; null for a StreamRef.</param>
/// <param name="Attempt">The writer's attempt at the file: the push's token is the grant's for it.</param>
/// <param name="Replica">The copy the writer writes (0: the primary).</param>
/// <remarks>A wire message: the writer is on another node than the shard.</remarks>
internal sealed record StreamFile(Guid SaveId, string File, IActorRef Writer, string? Endpoint = null, int Attempt = 1, int Replica = 0) : IActorCkptMessage;

/// <summary>
/// The shard's answer to a <see cref="StreamFile"/> naming an endpoint, once its push ended: the
/// writer's node acknowledged every byte, or the push failed (<paramref name="Failure"/>), perhaps
/// before that node admitted it, so the writer need not wait out the token.
/// </summary>
/// <param name="File">The data file.</param>
/// <param name="Failure">Why the push failed, or null.</param>
/// <param name="Replica">The copy pushed (that of the <see cref="StreamFile"/>).</param>
/// <remarks>A wire message: the answer to <see cref="StreamFile"/>, from another node.</remarks>
internal sealed record StreamFilePushed(string File, string? Failure, int Replica = 0) : IActorCkptMessage;

/// <summary>The shard's answer to <see cref="StreamFile"/>: the file's items, in order, as chunks.</summary>
/// <param name="Source">The chunks.</param>
/// <remarks>A wire message: the answer to <see cref="StreamFile"/>, from another node.</remarks>
internal sealed record StreamFileSuccess(ISourceRef<TransferChunk> Source) : IActorCkptMessage;

/// <summary>The shard will not stream the file (the save moved on, or the file went to another writer).</summary>
/// <param name="Cause">Why.</param>
/// <remarks>A wire message: the answer to <see cref="StreamFile"/>, from another node.</remarks>
internal sealed record StreamFileFailure(string Cause) : IActorCkptMessage;

/// <summary>A writer's request to stream a file's bytes again for another attempt.</summary>
/// <param name="Step">The step being saved.</param>
/// <param name="SaveId">The save attempt.</param>
/// <param name="File">The data file.</param>
/// <param name="Writer">The writer that will try again.</param>
/// <param name="Attempt">The attempt about to be made.</param>
/// <param name="Replica">The copy the writer writes (0: the primary).</param>
/// <remarks>A wire message: from a writer to the shard on another node that holds the bytes.</remarks>
internal sealed record ResendWrite(long Step, Guid SaveId, string File, IActorRef Writer, int Attempt, int Replica = 0) : IActorCkptMessage;

/// <summary>
/// A piece of an item of a streamed data file, with the xxHash3 of its bytes so the writer can
/// verify what arrived before writing it.
/// </summary>
/// <param name="Item">Index of the item in the file's plan.</param>
/// <param name="Offset">Byte offset of the piece inside the item.</param>
/// <param name="Bytes">The bytes.</param>
/// <param name="Checksum">xxHash3-64 of <paramref name="Bytes"/>.</param>
/// <remarks>A wire message: the element of the StreamRefs between nodes, each serialized on its own.</remarks>
internal sealed record TransferChunk(int Item, long Offset, byte[] Bytes, ulong Checksum) : IActorCkptMessage;

/// <summary>The file of a <see cref="WriteFile"/> is written and fsynced.</summary>
/// <param name="Step">The step being saved.</param>
/// <param name="SaveId">The save attempt.</param>
/// <param name="Result">Where each item landed and its checksums.</param>
/// <param name="Attempts">Attempts it took.</param>
/// <param name="Replica">The copy written (that of the request; 0: the primary).</param>
/// <remarks>A wire message: the answer to a streamed write, from another node (a local write's too).</remarks>
internal sealed record WriteFileSuccess(long Step, Guid SaveId, FileWriteResult Result, int Attempts, int Replica = 0) : IActorCkptMessage;

/// <summary>The file of a <see cref="WriteFile"/> could not be written within the retry limit.</summary>
/// <param name="Step">The step being saved.</param>
/// <param name="SaveId">The save attempt.</param>
/// <param name="File">The data file.</param>
/// <param name="Attempts">Attempts made.</param>
/// <param name="Cause">The last error.</param>
/// <param name="Replica">The copy that failed (that of the request; 0: the primary).</param>
/// <remarks>A wire message: the answer to a streamed write, from another node (a local write's too).</remarks>
internal sealed record WriteFileFailure(long Step, Guid SaveId, string File, int Attempts, string Cause, int Replica = 0) : IActorCkptMessage;

/// <summary>
/// A writer's note to itself: a retry waiting out its backoff. The writer arms a timer (key
/// <paramref name="Key"/>) delivering <paramref name="Retry"/> once the backoff is over; a restart
/// cancels the timers of the instance that failed, so that instance sends the note again to
/// itself, and the next one arms the timer for what remains.
/// </summary>
/// <param name="Key">The timer's key: the file and the attempt the retry makes.</param>
/// <param name="Retry">What the timer delivers to the writer: the <see cref="WriteFile"/> to try again, or a <see cref="ResendDue"/>.</param>
/// <param name="Since">When the backoff began, as a <see cref="System.Diagnostics.Stopwatch"/> timestamp.</param>
/// <param name="Backoff">How long it lasts.</param>
/// <remarks>Not a wire message: a writer sends it to itself.</remarks>
internal sealed record RetryBackoff(string Key, object Retry, long Since, TimeSpan Backoff);

/// <summary>
/// A writer's timer: the backoff of a streamed file is over, so the writer asks the shard that holds
/// the bytes to stream them again (<paramref name="Resend"/>).
/// </summary>
/// <param name="Key">The timer's key (that of its <see cref="RetryBackoff"/>).</param>
/// <param name="Shard">The shard that holds the bytes.</param>
/// <param name="Resend">The request it gets.</param>
/// <remarks>Not a wire message: a writer's timer delivers it to the writer, which sends <paramref name="Resend"/> on.</remarks>
internal sealed record ResendDue(string Key, IActorRef Shard, ResendWrite Resend);

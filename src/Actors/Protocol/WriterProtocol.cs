using Akka.Actor;
using ActorCkpt.Planner;

namespace ActorCkpt.Actors;

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
public sealed record WriteFile(long Step, Guid SaveId, FileWritePlan Plan, IReadOnlyList<ReadOnlyMemory<byte>> Data, IActorRef ReplyTo, int Attempt = 1)
    : IActorCkptMessage;

/// <summary>The file of a <see cref="WriteFile"/> is written and fsynced.</summary>
/// <param name="Step">The step being saved.</param>
/// <param name="SaveId">The save attempt.</param>
/// <param name="Result">Where each item landed and its checksums.</param>
/// <param name="Attempts">Attempts it took.</param>
public sealed record WriteFileSuccess(long Step, Guid SaveId, FileWriteResult Result, int Attempts) : IActorCkptMessage;

/// <summary>The file of a <see cref="WriteFile"/> could not be written within the retry limit.</summary>
/// <param name="Step">The step being saved.</param>
/// <param name="SaveId">The save attempt.</param>
/// <param name="File">The data file.</param>
/// <param name="Attempts">Attempts made.</param>
/// <param name="Cause">The last error.</param>
public sealed record WriteFileFailure(long Step, Guid SaveId, string File, int Attempts, string Cause) : IActorCkptMessage;

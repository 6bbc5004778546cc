using Akka.Persistence;
using Akka.Persistence.Journal;

namespace ActorCkpt.Actors.Tests;

/// <summary>An in-memory journal that cannot replay anything, as one on an unreadable disk or an unreachable server.</summary>
internal sealed class RecoveryFailingJournal : MemoryJournal
{
    public const string Error = "the journal's disk cannot be read";

    public override Task ReplayMessagesAsync(Akka.Actor.IActorContext context, string persistenceId, long fromSequenceNr, long toSequenceNr, long max,
        Action<IPersistentRepresentation> recoveryCallback) => Task.FromException(new IOException(Error));

    public override Task<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr, CancellationToken cancellationToken) =>
        Task.FromException<long>(new IOException(Error));
}

using System.Collections.Immutable;
using Akka.Persistence;
using Akka.Persistence.Journal;

namespace ActorCkpt.Actors.Tests;

/// <summary>An in-memory journal every write of which fails, as a full disk fails them all; reads succeed.</summary>
internal sealed class WriteFailingJournal : MemoryJournal
{
    protected override Task<IImmutableList<Exception>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken) =>
        Task.FromException<IImmutableList<Exception>>(new IOException("No space left on device"));
}

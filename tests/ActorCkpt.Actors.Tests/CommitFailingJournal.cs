using System.Collections.Immutable;
using Akka.Persistence;
using Akka.Persistence.Journal;

namespace ActorCkpt.Actors.Tests;

/// <summary>An in-memory journal whose first write of a <see cref="SaveCommitted"/> fails, as a full disk would fail it; every other write succeeds.</summary>
internal sealed class CommitFailingJournal : MemoryJournal
{
    private bool _failed;

    protected override Task<IImmutableList<Exception>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        var writes = messages.ToList();
        if (!_failed && writes.Any(w => ((IEnumerable<IPersistentRepresentation>)w.Payload).Any(p => p.Payload is SaveCommitted)))
        {
            _failed = true;
            return Task.FromException<IImmutableList<Exception>>(new IOException("No space left on device"));
        }
        return base.WriteMessagesAsync(writes, cancellationToken);
    }
}

using System.Collections.Immutable;
using Akka.Persistence;
using Akka.Persistence.Journal;

namespace ActorCkpt.Actors.Tests;

/// <summary>
/// An in-memory journal that rejects every write carrying a <see cref="CheckpointDeleted"/> (as a
/// journal refuses an event it cannot serialize or store) and stores every other write.
/// </summary>
internal sealed class DeletionRefusingJournal : MemoryJournal
{
    public const string Error = "the journal refuses deletions";

    protected override async Task<IImmutableList<Exception>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        var results = ImmutableList.CreateBuilder<Exception>();
        foreach (var write in messages)
        {
            if (((IEnumerable<IPersistentRepresentation>)write.Payload).Any(p => p.Payload is CheckpointDeleted))
            {
                results.Add(new InvalidOperationException(Error));
                continue;
            }
            var stored = await base.WriteMessagesAsync(new[] { write }, cancellationToken);
            results.Add(stored?[0]!);
        }
        return results.ToImmutable();
    }
}

using System.Collections.Immutable;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Journal;

namespace ActorCkpt.Actors.Tests;

/// <summary>
/// An in-memory journal that holds every write carrying a <see cref="CheckpointDeleted"/> until the
/// test releases it, announcing each held write on the event stream as a <see cref="DeletionWriteHeld"/>.
/// </summary>
internal sealed class DeletionHoldingJournal : MemoryJournal
{
    private readonly EventStream _events = Context.System.EventStream;

    protected override async Task<IImmutableList<Exception>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        var writes = messages.ToList();
        if (writes.Any(w => ((IEnumerable<IPersistentRepresentation>)w.Payload).Any(p => p.Payload is CheckpointDeleted)))
        {
            var held = new DeletionWriteHeld();
            _events.Publish(held);
            await held.Released.WaitAsync(cancellationToken);
        }
        return await base.WriteMessagesAsync(writes, cancellationToken);
    }
}

/// <summary>A deletion's journal write is waiting; <see cref="Release"/> lets it go through.</summary>
internal sealed class DeletionWriteHeld
{
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Released => _released.Task;

    public void Release() => _released.TrySetResult();
}

using Akka.Actor;

namespace ActorCkpt;

/// <summary>
/// Parent and supervisor of a node's writers: starts <see cref="ActorCkptSettings.WriterPoolSize"/>
/// of them over <paramref name="store"/>, registers each with <paramref name="planner"/> (a planner
/// that starts later asks with <see cref="ListWriters"/>), and restarts any writer that crashes (a
/// writer holds no state worth keeping: the retry of the write that failed, and those waiting out
/// their backoff, go to the restarted writer as messages to itself). Use <see cref="Props"/>.
/// </summary>
/// <param name="store">Where the writers write.</param>
/// <param name="settings">The writers' settings.</param>
/// <param name="planner">The planner the writers register with.</param>
/// <param name="replicas">Where the writers put memory-tier files; null on a node that holds no memory replicas.</param>
internal sealed class WriterPoolActor(IBlobStore store, ActorCkptSettings settings, IActorRef planner, ReplicaStore? replicas = null) : UntypedActor
{
    /// <summary>Props of a writer pool registering its writers with <paramref name="planner"/>, writing memory-tier files into <paramref name="replicas"/>.</summary>
    public static Props Props(IBlobStore store, ActorCkptSettings settings, IActorRef planner, ReplicaStore? replicas = null) =>
        Akka.Actor.Props.Create(() => new WriterPoolActor(store, settings, planner, replicas));

    /// <inheritdoc />
    protected override void PreStart()
    {
        for (var i = 0; i < settings.WriterPoolSize; i++)
        {
            var writer = Context.ActorOf(WriterActor.Props(store, settings, replicas), $"writer-{i}");
            planner.Tell(new RegisterWriter(writer));
        }
    }

    /// <summary>Answers <see cref="ListWriters"/>; ignores anything else.</summary>
    protected override void OnReceive(object message)
    {
        if (message is ListWriters) Sender.Tell(new WritersListed(Context.GetChildren().ToArray()));
    }

    /// <inheritdoc />
    protected override SupervisorStrategy SupervisorStrategy() => new RestartWriters();

    /// <summary>
    /// Restarts every writer that fails, without limit. A write that fails with retries left is
    /// thrown on purpose (<see cref="WriteFileException"/>) and the writer has logged it as a warning
    /// already: Akka's error line and stack trace for it would make a retry that succeeds look like a
    /// failure. Any other crash is logged as Akka logs it.
    /// </summary>
    private sealed class RestartWriters() : OneForOneStrategy(-1, Timeout.InfiniteTimeSpan, _ => Directive.Restart)
    {
        protected override void LogFailure(IActorContext context, IActorRef child, Exception cause, Directive directive)
        {
            if (cause is not WriteFileException) base.LogFailure(context, child, cause, directive);
        }
    }
}

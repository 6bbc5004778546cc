using Akka.Actor;

namespace ActorCkpt;

/// <summary>
/// Parent and supervisor of a node's writers: starts <see cref="ActorCkptSettings.WriterPoolSize"/>
/// of them, registers each with the planner (a planner that starts later asks with
/// <see cref="ListWriters"/>), and restarts
/// any writer that crashes (a writer holds no state worth keeping; its retry travels in the message).
/// </summary>
internal sealed class WriterPoolActor : ReceiveActor
{
    private readonly IBlobStore _store;
    private readonly ActorCkptSettings _settings;
    private readonly IActorRef _planner;

    /// <summary>Creates the pool; use <see cref="Props"/>.</summary>
    public WriterPoolActor(IBlobStore store, ActorCkptSettings settings, IActorRef planner)
    {
        _store = store;
        _settings = settings;
        _planner = planner;
        Receive<ListWriters>(_ => Sender.Tell(new WritersListed(Context.GetChildren().ToArray())));
        ReceiveAny(_ => { });
    }

    /// <summary>Props of a writer pool registering its writers with <paramref name="planner"/>.</summary>
    public static Props Props(IBlobStore store, ActorCkptSettings settings, IActorRef planner) =>
        Akka.Actor.Props.Create(() => new WriterPoolActor(store, settings, planner));

    /// <inheritdoc />
    protected override void PreStart()
    {
        for (var i = 0; i < _settings.WriterPoolSize; i++)
        {
            var writer = Context.ActorOf(WriterActor.Props(_store, _settings), $"writer-{i}");
            _planner.Tell(new RegisterWriter(writer));
        }
    }

    /// <inheritdoc />
    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(maxNrOfRetries: -1, withinTimeRange: Timeout.InfiniteTimeSpan, localOnlyDecider: _ => Directive.Restart);
}

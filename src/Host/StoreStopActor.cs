using Akka.Actor;

namespace ActorCkpt;

/// <summary>
/// Disposes a store a caller's wrapper made for a node (a test's fault-injecting one) when the node's
/// actor system stops, however it stops: its <c>PostStop</c> runs as the user guardian stops its
/// children, before the system waits for a writer still inside a held or delayed write. The
/// coordinated shutdown's task does the same earlier, but a system whose <c>Terminate</c> skips the
/// coordinated shutdown (a test cluster's crash, <c>run-by-actor-system-terminate = off</c>) would
/// otherwise wait out the delay, and land the write after it.
/// </summary>
internal sealed class StoreStopActor(IDisposable store) : UntypedActor
{
    /// <summary>Props of the actor that disposes <paramref name="store"/> as it stops.</summary>
    public static Props Props(IDisposable store) => Akka.Actor.Props.Create(() => new StoreStopActor(store));

    /// <inheritdoc />
    protected override void OnReceive(object message) => Unhandled(message);

    /// <inheritdoc />
    protected override void PostStop() => store.Dispose();
}

namespace ActorCkpt;

/// <summary>
/// Where an object store's notices go: a request sent again after a failure or after no answer
/// within the request timeout. Io has no logger, and a store is opened before the actor system
/// whose log should carry them exists, so the node that uses the store attaches its log later
/// (<see cref="Attach"/>); until then, and without one, notices are dropped. Copies of
/// <see cref="ObjectStoreOptions"/> made with <c>with</c> share one instance.
/// </summary>
internal sealed class StoreNotices
{
    private volatile Action<string>? _sink;

    /// <summary>Sends the notices from now on to <paramref name="sink"/> (any thread may call it).</summary>
    public void Attach(Action<string> sink) => _sink = sink;

    /// <summary>Passes <paramref name="line"/> on, when a sink is attached.</summary>
    public void Say(string line) => _sink?.Invoke(line);
}

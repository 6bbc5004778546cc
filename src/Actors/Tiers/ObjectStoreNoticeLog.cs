using Akka.Actor;
using Akka.Event;

namespace ActorCkpt;

/// <summary>
/// Puts an object store's notices (<see cref="StoreNotices"/>: a request sent again after a failure
/// or after no answer) in the actor system's log as warnings, so that a store that stalls is seen
/// at its first timeout instead of when the last retry gives up.
/// </summary>
internal static class ObjectStoreNoticeLog
{
    /// <summary>The log source of the notices.</summary>
    public const string Source = "ActorCkpt.ObjectStore";

    /// <summary>Sends the notices of stores opened with <paramref name="options"/> to <paramref name="system"/>'s log.</summary>
    public static void Attach(ActorSystem system, ObjectStoreOptions options)
    {
        var log = Logging.GetLogger(system, Source);
        options.Notices.Attach(line => log.Warning("{0}", line));
    }
}

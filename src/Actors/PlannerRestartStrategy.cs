using Akka.Actor;
using Akka.Event;

namespace ActorCkpt;

/// <summary>
/// The planner's backoff supervisor's strategy: Akka's default decisions, but a planner refused the
/// root's catalog lock (<see cref="RootLockedException"/>: another checkpointer holds the root) is
/// logged once, as one line naming the lock and its holder, and not again at every retry, which
/// would flood the log for as long as the other holder runs. A different holder is logged again.
/// One instance per supervisor: it remembers the last line it logged.
/// </summary>
internal sealed class PlannerRestartStrategy() : OneForOneStrategy(SupervisorStrategy.DefaultDecider)
{
    private string? _lastLocked;

    /// <inheritdoc />
    protected override void LogFailure(IActorContext context, IActorRef child, Exception cause, Directive directive)
    {
        if (cause is ActorInitializationException { InnerException: RootLockedException locked })
        {
            if (locked.Message == _lastLocked) return;
            _lastLocked = locked.Message;
            context.System.Log.Error("{0} (the planner retries until the lock is free)", locked.Message);
            return;
        }
        base.LogFailure(context, child, cause, directive);
    }
}

using Akka.Actor;

namespace ActorCkpt;

/// <summary>
/// Registers code to run when an actor system terminates, from any thread. Akka chains its
/// termination callbacks with <c>Task.ContinueWith</c> and <c>Task.Start</c> on the current task
/// scheduler. A node's bulk channel is often first reached inside an actor's async handler, whose
/// scheduler is the actor's own; registered from there, a cluster node that left the cluster
/// terminated its actors but never completed <see cref="ActorSystem.WhenTerminated"/>, so an
/// <c>actorckpt node</c> process never exited and was killed 30 s later. Registering on the default
/// scheduler keeps the chain whole. (A plain actor system terminated directly did not show it in a
/// test; the node processes of <c>demo --nodes 3</c> did, every run.)
/// </summary>
internal static class TerminationHooks
{
    /// <summary>Runs <paramref name="code"/> when <paramref name="system"/> terminates, before <see cref="ActorSystem.WhenTerminated"/> completes.</summary>
    public static void Register(ActorSystem system, Action code)
    {
        if (TaskScheduler.Current == TaskScheduler.Default)
        {
            system.RegisterOnTermination(code);
            return;
        }
        Task.Factory.StartNew(() => system.RegisterOnTermination(code), CancellationToken.None, TaskCreationOptions.DenyChildAttach, TaskScheduler.Default)
            .GetAwaiter().GetResult();
    }
}

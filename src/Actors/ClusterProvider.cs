using Akka.Actor;

namespace ActorCkpt;

/// <summary>Whether an actor system runs Akka.Cluster, and on which node an actor lives: they decide where the planner lives, how writers are found and who guards the root's lock.</summary>
internal static class ClusterProvider
{
    /// <summary>True when <paramref name="system"/>'s actor-ref provider is the cluster's.</summary>
    public static bool IsClustered(this ActorSystem system) => system.Settings.ProviderClass.Contains("Cluster", StringComparison.Ordinal);

    /// <summary>The node <paramref name="actor"/> lives on: its address, or <paramref name="system"/>'s own for a local reference.</summary>
    public static string NodeOf(this ActorSystem system, IActorRef actor) =>
        (actor.Path.Address.HasGlobalScope ? actor.Path.Address : ((ExtendedActorSystem)system).Provider.DefaultAddress).ToString();
}

using Akka.Actor;

namespace ActorCkpt;

/// <summary>Whether an actor system runs Akka.Cluster: it decides where the planner lives, how writers are found and who guards the root's lock.</summary>
internal static class ClusterProvider
{
    /// <summary>True when <paramref name="system"/>'s actor-ref provider is the cluster's.</summary>
    public static bool IsClustered(this ActorSystem system) => system.Settings.ProviderClass.Contains("Cluster", StringComparison.Ordinal);
}

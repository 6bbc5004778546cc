using Akka.Configuration;

namespace ActorCkpt.Cli.Demo;

/// <summary>
/// The memory-tier demo's choices (<c>actorckpt demo --tier memory</c>): the tier's settings for
/// every node process, and which node processes it takes away after the saves.
/// </summary>
/// <param name="Replicas">actorckpt.tiers.memory.replicas.</param>
/// <param name="DiskEvery">actorckpt.tiers.disk.every.</param>
/// <param name="Kill">Indices of the node processes to kill, ascending; empty for none.</param>
/// <param name="RemoveTmpfs">True (<c>--kill-node</c>): a killed node's host loses its tmpfs replicas too, as a lost machine would; false (<c>--kill-process</c>): only the process dies.</param>
/// <param name="Directory">actorckpt.tiers.memory.directory (absolute).</param>
internal sealed record MemoryDemo(int Replicas, long DiskEvery, int[] Kill, bool RemoveTmpfs, string Directory)
{
    /// <summary>The tier's default replica directory (hocon/reference.conf).</summary>
    public const string DefaultDirectory = "/dev/shm/actorckpt";

    /// <summary>How long a just-started planner waits for recorded holders before marking them lost: short, so a demo that removed a host's tmpfs does not wait a minute.</summary>
    public static readonly TimeSpan LostAfter = TimeSpan.FromSeconds(20);

    /// <summary>The host (failure domain) of node process <paramref name="index"/>: one per process on this machine.</summary>
    public static string Host(int index) => $"node-{index}";

    /// <summary>"--kill-node 1" or "--kill-process 0,2", as the report names the fault; "none" without one.</summary>
    public string KillText => Kill.Length == 0 ? "none" : $"{(RemoveTmpfs ? "--kill-node" : "--kill-process")} {string.Join(",", Kill)}";

    /// <summary>
    /// This demo as its node processes will run it: the tier's settings in <paramref name="hocon"/>
    /// (the user's --config, which comes after the flags and overrides them) in place of the flags'.
    /// Refuses, before any process starts, a file that turns the memory tier off or asks for more
    /// copies of a shard than <paramref name="nodes"/> hosts can hold: the nodes would only time out.
    /// </summary>
    public MemoryDemo AsConfigured(string? hocon, int nodes)
    {
        if (string.IsNullOrWhiteSpace(hocon)) return this;
        var settings = ActorCkptSettings.Create(ConfigurationFactory.ParseString(hocon)
            .WithFallback(ConfigurationFactory.ParseString(Hocon)).WithFallback(ActorCkptConfig.Defaults));
        if (!settings.MemoryTier.Enabled)
            throw new ActorCkptException("--tier memory, but --config sets actorckpt.tiers.memory.enabled = off");
        if (settings.MemoryTier.Replicas > nodes)
            throw new ActorCkptException($"--config sets actorckpt.tiers.memory.replicas = {settings.MemoryTier.Replicas}: more copies of a shard than {nodes} nodes can hold, each on a node of its own");
        return this with { Replicas = settings.MemoryTier.Replicas, DiskEvery = settings.Tiers.DiskEvery, Directory = settings.MemoryTier.Directory };
    }

    /// <summary>
    /// The settings every node process (and the driver) starts with, before the user's --config: the
    /// tier on; at most two saves in flight per rank; a dead process found within seconds; and a
    /// split-brain resolver that keeps the side of the oldest member, the driver, which never dies:
    /// on one machine a killed process is the only partition there is, so the survivors down it even
    /// when most nodes died at once. (static-quorum with quorum-size 1 would down every node of a
    /// cluster larger than one: Akka downs all when members exceed 2 x quorum-size - 1.)
    /// </summary>
    public string Hocon => $$"""
        actorckpt.tiers.memory { enabled = on, replicas = {{Replicas}}, directory = "{{Directory.Replace("\\", "\\\\").Replace("\"", "\\\"")}}", lost-after = {{(int)LostAfter.TotalSeconds}}s }
        actorckpt.tiers.disk.every = {{DiskEvery}}
        actorckpt.async.max-in-flight = 2
        akka.cluster.failure-detector { heartbeat-interval = 1s, acceptable-heartbeat-pause = 3s }
        akka.cluster.split-brain-resolver { active-strategy = keep-oldest, keep-oldest.down-if-alone = off, stable-after = 3s }
        """;
}

using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.Cluster;
using ActorCkpt.Cli.Demo;

namespace ActorCkpt.Cli;

/// <summary>
/// <c>actorckpt node --config FILE [--port P] [--seed host:port]... [--roles rank,writer] [--host ID]</c>: starts a
/// cluster node (planner singleton, writer pool, shard actors by role) over the checkpoint
/// directory <c>actorckpt.root</c> of the config, joins the seeds (or forms a cluster alone), and
/// runs until SIGTERM or Ctrl-C, which make it leave the cluster gracefully. <c>--host</c> names the
/// node's memory-tier failure domain (<c>actorckpt.tiers.memory.host</c>), as the memory demo gives
/// each node process a host of its own on one machine.
/// </summary>
internal static class NodeCommand
{
    /// <summary>Runs the node until it is stopped; returns the exit code.</summary>
    public static async Task<int> RunAsync(string configFile, int? port, IReadOnlyList<string> seeds, IReadOnlyList<string>? roles, CliOutput output, string? host = null)
    {
        var text = UserHocon.ReadFile(configFile, "--config");
        var config = ClusterNodeConfig.Build(text + ActorCkptConfig.NamingCatalogConfigFile(configFile, text), port, roles, root: null);
        // The flag wins over the file: one config file serves every node process of the memory demo.
        if (host is not null) config = Akka.Configuration.ConfigurationFactory.ParseString($"actorckpt.tiers.memory.host = \"{ReplicaLayout.Host(host)}\"").WithFallback(config);
        var root = config.GetString("actorckpt.root");
        if (string.IsNullOrWhiteSpace(root))
            throw new ArgumentException($"actorckpt.root is not set in '{configFile}': every node needs the shared checkpoint directory");
        // Each node process would resolve a relative directory against its own working directory: one root would be several.
        if (BlobStores.IsDirectory(root) && !Path.IsPathFullyQualified(root))
            throw new ArgumentException($"actorckpt.root = '{root}' in '{configFile}': must be an absolute path (or an az:// or s3:// URI), the same for every node");
        var seedAddresses = seeds.Select(s => ParseSeed(s) ?? throw new ArgumentException($"--seed '{s}' is not host:port")).ToList();
        config = ActorCkptConfig.WithCatalog(config, root);

        RemotingPort.EnsureFree(config, "--port (akka.remote.dot-netty.tcp.port)");
        var system = ActorSystem.Create(ClusterNodeConfig.SystemName, config);
        var settings = ActorCkptSettings.Create(system);
        var node = CheckpointNode.Start(system, BlobStores.Open(root, settings.ObjectStore), settings);
        system.ActorOf(DemoAgentActor.Props(node), DemoAgentActor.Name);
        var cluster = Cluster.Get(system);
        void Leave(PosixSignalContext context)
        {
            context.Cancel = true;
            CoordinatedShutdown.Get(system).Run(CoordinatedShutdown.ClrExitReason.Instance);
        }
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Leave);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Leave);
        // A closed terminal too (Akka handles SIGTERM and SIGINT itself, not SIGHUP): without this the node died without leaving.
        using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, Leave);

        // ConfigureAwait(false) on both: the join may complete on an actor's thread, and nothing after
        // it needs that actor's task scheduler, which is gone once the system terminates.
        var join = cluster.JoinSeedNodesAsync(seedAddresses.Count > 0 ? seedAddresses : new[] { cluster.SelfAddress });
        // A signal stops a node that is still joining too (no seed answers): the join never completes then.
        var joined = await Task.WhenAny(join, system.WhenTerminated).ConfigureAwait(false) == join;
        if (joined)
        {
            await join.ConfigureAwait(false);
            output.Line($"node {cluster.SelfAddress} up, roles [{string.Join(", ", cluster.SelfRoles.Order(StringComparer.Ordinal))}], checkpoints in {root}");
        }
        else
        {
            _ = join.ContinueWith(t => t.Exception, TaskContinuationOptions.OnlyOnFaulted);
        }
        await system.WhenTerminated.ConfigureAwait(false);
        try
        {
            output.Line(joined ? $"node {cluster.SelfAddress} stopped"
                : $"node {cluster.SelfAddress} stopped before it joined the cluster (none of the seed nodes [{string.Join(", ", seedAddresses)}] had let it in)");
        }
        catch (IOException)
        {
            // Its terminal is gone (the SIGHUP that stopped it): the node left all the same.
        }
        return 0;
    }

    /// <summary>The roles a node can take.</summary>
    public static readonly string[] Roles = { "rank", "writer", "planner" };

    /// <summary>The address of a seed given as host:port; null when it is not one.</summary>
    public static Address? ParseSeed(string seed)
    {
        var colon = seed.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(seed.AsSpan(colon + 1), out var port) || port is <= 0 or > 65535) return null;
        return new Address("akka.tcp", ClusterNodeConfig.SystemName, seed[..colon], port);
    }
}

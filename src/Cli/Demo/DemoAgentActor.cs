using System.Diagnostics;
using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using ActorCkpt.Cli.Bench;

namespace ActorCkpt.Cli.Demo;

/// <summary>
/// Runs the demo's saves and loads for the ranks of the node it lives on, when the multi-node
/// demo's driver asks (the tensors of a rank live on its node, never in the driver).
/// </summary>
internal sealed class DemoAgentActor : ReceiveActor
{
    /// <summary>Name of the agent under /user on every rank node.</summary>
    public const string Name = "actorckpt-demo-agent";

    /// <summary>Creates the agent over the node's <paramref name="node"/>.</summary>
    public DemoAgentActor(CheckpointNode node)
    {
        var system = Context.System;
        // The node's state: built ahead of the save of Step (PrepareDemoSave), or, with no step, the
        // tensors of its last save, refilled in place for the next (as a training job updates its
        // parameters): building new ones each step took and freed GiBs per step, and on these
        // machines memory freed goes back to the host and is slow to touch again.
        (DemoModel Model, long? Step, RankState[] States)? held = null;
        Receive<PrepareDemoSave>(m =>
        {
            var model = new SyntheticModel(m.Model.SizeMb, m.Model.Tensors, m.Model.Layout, m.Model.Seed);
            var reuse = held is { } h && h.Model == m.Model && h.States.Length == m.World ? h.States : null;
            if (reuse is null && held is { } stale) SyntheticModel.Dispose(stale.States);
            held = (m.Model, m.Step, model.BuildStates(m.World, m.Step, reuse));
            Sender.Tell(new DemoSavePrepared(m.Step));
        });
        ReceiveAsync<RunDemoSave>(async m =>
        {
            var replyTo = Sender;
            RankState[] all;
            var prepared = false;
            if (held is { Step: { } step } ready && step == m.Step && ready.Model == m.Model && ready.States.Length == m.World)
            {
                all = ready.States;
                held = null;
                prepared = true;
            }
            else
            {
                all = new SyntheticModel(m.Model.SizeMb, m.Model.Tensors, m.Model.Layout, m.Model.Seed).BuildStates(m.World, m.Step);
            }
            try
            {
                var channel = BulkChannels.Get(system).For(node.Settings).Client;
                channel.TakePushActivity();
                var clock = Stopwatch.StartNew();
                var handles = all.Where(s => m.Ranks.Contains(s.Rank)).Select(s => node.Save(m.Step, s, tier: m.Tier)).ToArray();
                await Task.WhenAll(handles.Select(h => h.Staged));
                var staged = clock.Elapsed.TotalSeconds;
                await Task.WhenAll(handles.Select(h => h.Committed));
                replyTo.Tell(new DemoSaveDone(staged, clock.Elapsed.TotalSeconds, null, channel.TakePushActivity()));
            }
            catch (Exception e)
            {
                replyTo.Tell(new DemoSaveDone(0, 0, e.Message));
            }
            finally
            {
                // A prepared state is held for the next PrepareDemoSave to refill (the save has ended:
                // staged and committed, or failed); any other is let go.
                if (prepared)
                {
                    if (held is { } other) SyntheticModel.Dispose(other.States);
                    held = (m.Model, null, all);
                }
                else SyntheticModel.Dispose(all);
            }
        });
        ReceiveAsync<RunDemoLoad>(async m =>
        {
            var replyTo = Sender;
            var model = new SyntheticModel(m.Model.SizeMb, m.Model.Tensors, m.Model.Layout, m.Model.Seed);
            var all = model.EmptyStates(m.World);
            try
            {
                var mine = all.Where(s => m.Ranks.Contains(s.Rank)).ToArray();
                var clock = Stopwatch.StartNew();
                var results = await Task.WhenAll(mine.Select(s => node.LoadAsync(s, m.Step, throughReaders: m.ThroughReaders, only: m.Only)));
                var seconds = clock.Elapsed.TotalSeconds;
                if (results.Length == 0)
                {
                    replyTo.Tell(new DemoLoadDone(seconds, Array.Empty<string>(), 0, m.Step ?? -1));
                    return;
                }
                // Without a step each rank resolves the newest loadable one itself: they must agree.
                var step = results[0].Step;
                var tier = results[0].Tier;
                var problems = results.Where(r => r.Step != step || r.Tier != tier).Select(r => $"ranks of one node loaded different steps or tiers: step {step} from {tier} and step {r.Step} from {r.Tier}")
                    .Concat(model.Check(mine, results, step, results[0].SavedWorldSize)).ToArray();
                replyTo.Tell(new DemoLoadDone(seconds, problems, results.Sum(r => r.BytesRead), step, tier, results.Sum(r => r.BytesFromPeers)));
            }
            catch (Exception e)
            {
                replyTo.Tell(new DemoLoadDone(0, new[] { e.Message }, Error: e.Message));
            }
            finally
            {
                SyntheticModel.Dispose(all);
            }
        });
        Receive<OpenSocketSink>(m =>
        {
            var (endpoint, received) = SocketBaseline.Receive(BulkChannels.Get(system).For(node.Settings).Settings.BindHost, m.Bytes, NodeProcessCluster.Patience);
            // Nobody waits on the receive: the sender's answer reports how it went.
            received.ContinueWith(t => system.Log.Warning("Socket baseline receive failed: {0}", t.Exception?.GetBaseException().Message),
                TaskContinuationOptions.OnlyOnFaulted);
            Sender.Tell(new SocketSinkOpened(endpoint));
        });
        ReceiveAsync<RunSocketCopy>(async m =>
        {
            var replyTo = Sender;
            try
            {
                replyTo.Tell(new SocketCopyDone(await SocketBaseline.SendAsync(m.Endpoint, m.Bytes, NodeProcessCluster.Patience), null));
            }
            catch (Exception e)
            {
                replyTo.Tell(new SocketCopyDone(0, e.Message));
            }
        });
        Receive<OpenChannelSink>(m =>
        {
            var server = BulkChannels.Get(system).For(node.Settings).Server;
            var (token, received) = ChannelBaseline.Receive(server, m.Bytes, NodeProcessCluster.Patience);
            received.ContinueWith(t => system.Log.Warning("Channel baseline receive failed: {0}", t.Exception?.GetBaseException().Message),
                TaskContinuationOptions.OnlyOnFaulted);
            Sender.Tell(new ChannelSinkOpened(server.Endpoint, token.Hex));
        });
        ReceiveAsync<RunChannelCopy>(async m =>
        {
            var replyTo = Sender;
            try
            {
                var client = BulkChannels.Get(system).For(node.Settings).Client;
                replyTo.Tell(new SocketCopyDone(await ChannelBaseline.SendAsync(client, m.Endpoint, new TransferToken(m.Token), m.Bytes, NodeProcessCluster.Patience), null));
            }
            catch (Exception e)
            {
                replyTo.Tell(new SocketCopyDone(0, e.Message));
            }
        });
        Receive<StopNode>(_ => CoordinatedShutdown.Get(Context.System).Run(CoordinatedShutdown.ClusterLeavingReason.Instance));
    }

    /// <summary>Props of the agent.</summary>
    public static Props Props(CheckpointNode node) => Akka.Actor.Props.Create(() => new DemoAgentActor(node));
}

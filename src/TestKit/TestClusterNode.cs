using Akka.Actor;

namespace ActorCkpt.TestKit;

/// <summary>A node of an <see cref="ActorCkptTestCluster"/>: a real ActorSystem on 127.0.0.1 running a <see cref="Checkpointer"/>.</summary>
public sealed class TestClusterNode
{
    private readonly KillableBlobStore _storage;

    internal TestClusterNode(int index, Checkpointer checkpointer, TestNodeOptions options, KillableBlobStore storage)
    {
        Index = index;
        Checkpointer = checkpointer;
        Options = options;
        _storage = storage;
        Address = Akka.Cluster.Cluster.Get(checkpointer.System).SelfAddress;
    }

    /// <summary>Its place in <see cref="ActorCkptTestCluster.Nodes"/>.</summary>
    public int Index { get; }

    /// <summary>Its checkpointer: save and load through it (on a node with the rank role).</summary>
    public Checkpointer Checkpointer { get; }

    /// <summary>Its actor system (to watch cluster events, or to use with Akka.TestKit probes).</summary>
    public ActorSystem System => Checkpointer.System;

    /// <summary>Its address in the cluster.</summary>
    public Address Address { get; }

    /// <summary>What it was started with (its roles and faults).</summary>
    public TestNodeOptions Options { get; }

    /// <summary>True once <see cref="ActorCkptTestCluster.KillAsync"/> killed it.</summary>
    public bool IsKilled { get; private set; }

    /// <inheritdoc />
    public override string ToString() => $"node {Index} [{string.Join(", ", Options.Roles)}] at {Address}";

    /// <summary>
    /// Kills it: its storage refuses everything, and its ActorSystem stops without leaving the cluster.
    /// The writes it holds or delays end (failing) as the system stops, which stops its fault-injecting
    /// store; the faults themselves stay armed, for other nodes that share them.
    /// </summary>
    internal Task KillAsync()
    {
        IsKilled = true;
        _storage.Kill();
        return System.Terminate();
    }
}

using Akka.Actor;
using Akka.Configuration;

namespace ActorCkpt.Actors.Tests;

/// <summary>
/// Memory-tier specs over processes (an actor system each) on one host: the tier on with R = 1,
/// nothing persisted by the policy, replicas under a tmpfs directory of the spec's own, removed at the end.
/// </summary>
public abstract class MemoryTierSpec : NodeSpec
{
    /// <summary>Two ranks' worth of float and int tensors, split by rows and replicated.</summary>
    private protected static readonly IReadOnlyList<(string Key, DType DType, Layout Layout, long Rows, long Cols)> Model =
        TestStates.Model(new[] { DType.Float32, DType.Int64 }, new[] { Layout.Rows, Layout.Replicated });

    private protected string Shm { get; } = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), "actorckpt-memtier-" + Guid.NewGuid().ToString("N"));

    private readonly List<ActorSystem> _processes = new();

    /// <summary>A process (its own actor system) with a node over <see cref="NodeSpec.Root"/>, the tier on with <paramref name="budget"/> bytes per host.</summary>
    /// <remarks>
    /// With <paramref name="store"/>, the node's store is what it makes of the plain one; <paramref name="beforeStart"/>
    /// runs on the new actor system before the node starts on it.
    /// </remarks>
    private protected (ActorSystem System, CheckpointNode Node) Process(long budget = 1L << 30, string host = "h0", string extra = "",
        Func<IBlobStore, IBlobStore>? store = null, Action<ActorSystem>? beforeStart = null)
    {
        var system = ActorSystem.Create("proc", ActorCkptConfig.WithCatalog(ConfigurationFactory.ParseString($$"""
            actorckpt.tiers.memory { enabled = on, replicas = 1, directory = "{{Shm}}", host = {{host}}, budget = {{budget}}, keep-last = 0 }
            actorckpt.tiers.disk.every = 0
            {{extra}}
            {{TestConfig}}
            """).WithFallback(ActorCkptConfig.Defaults), Root));
        _processes.Add(system);
        beforeStart?.Invoke(system);
        IBlobStore blobs = new LocalBlobStore(Root);
        return (system, CheckpointNode.Start(system, store?.Invoke(blobs) ?? blobs));
    }

    private protected static async Task<IReadOnlyList<CatalogEntry>> Catalog(CheckpointNode node) =>
        (await node.Planner.Ask<CatalogRead>(new ReadCatalog(), Patience)).Entries;

    private protected static async Task<SaveResult> Save(CheckpointNode node, long step, SaveTier tier = SaveTier.Policy)
    {
        var states = TestStates.Build(Model, 2, seed: (int)step);
        try
        {
            var handles = states.Select(s => node.Save(step, s, tier: tier)).ToArray();
            return (await Task.WhenAll(handles.Select(h => h.Committed)).WaitAsync(Patience))[0];
        }
        finally
        {
            TestStates.Dispose(states);
        }
    }

    /// <summary>Waits until the planner knows the host: a memory save before that would find no holder.</summary>
    private protected static async Task HolderUp(ActorSystem system)
    {
        var holder = await system.ActorSelection("/user/actorckpt-replicas").ResolveOne(Patience);
        await holder.Ask<ReplicaUsageReported>(new ReportReplicaUsage(), Patience);
    }

    /// <summary>The bytes one step's copies take in the store, from a first process that saves step 1 and ends.</summary>
    private protected async Task<long> OneStepBytes()
    {
        var (system, node) = Process();
        await HolderUp(system);
        await Save(node, 1);
        var bytes = node.Replicas!.Usage().FileBytes;
        await system.Terminate();
        return bytes;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            foreach (var system in _processes) system.Terminate().Wait(Patience);
        base.Dispose(disposing);
        if (disposing) ScratchDirectory.Delete(Shm);
    }
}

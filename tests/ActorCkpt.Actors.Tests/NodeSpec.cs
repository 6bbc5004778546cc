using Akka.Configuration;

namespace ActorCkpt.Actors.Tests;

/// <summary>
/// Base of the actor specs: a TestKit actor system, a temporary checkpoint directory, and helpers
/// to start a node over it (optionally behind a fault-injecting store) and to save and load.
/// </summary>
public abstract class NodeSpec : Akka.TestKit.Xunit2.TestKit
{
    /// <summary>Short deadlines and backoffs: tests wait on messages, never on the clock.</summary>
    protected const string TestConfig = """
        akka.loglevel = WARNING
        akka.stdout-loglevel = WARNING
        actorckpt.writer.backoff-min = 5ms
        actorckpt.writer.backoff-max = 20ms
        actorckpt.writer.pool-size = 3
        """;

    protected static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    protected NodeSpec(string extraConfig = "")
        : this(Path.Combine(Path.GetTempPath(), "actorckpt-actors-" + Guid.NewGuid().ToString("N")), extraConfig)
    {
    }

    private NodeSpec(string root, string extraConfig)
        : base(ActorCkptConfig.WithCatalog(ConfigurationFactory.ParseString(extraConfig + "\n" + TestConfig).WithFallback(ActorCkptConfig.Defaults), root))
    {
        Root = root;
        Directory.CreateDirectory(Root);
    }

    protected string Root { get; }

    private int _nodes;

    /// <summary>Starts a node over <see cref="Root"/>, behind <paramref name="faults"/> when given.</summary>
    private protected CheckpointNode StartNode(FaultPolicy? faults = null, ActorCkptSettings? settings = null)
    {
        IBlobStore blobs = new LocalBlobStore(Root);
        if (faults is not null) blobs = new FaultInjectingBlobStore(blobs, faults);
        return CheckpointNode.Start(Sys, blobs, settings ?? ActorCkptSettings.Create(Sys), $"node{Interlocked.Increment(ref _nodes)}");
    }

    /// <summary>Saves every state as <paramref name="step"/> and waits until all ranks committed.</summary>
    private protected static async Task<SaveResult> SaveAllAsync(CheckpointNode node, long step, IEnumerable<RankState> states)
    {
        var handles = states.Select(s => node.Save(step, s)).ToArray();
        var summaries = await Task.WhenAll(handles.Select(h => h.Committed)).WaitAsync(Patience);
        return summaries[0];
    }

    /// <summary>
    /// Loads <paramref name="step"/> (the newest when null) on <paramref name="ranks"/> ranks and asserts it is
    /// <paramref name="model"/> as seed <paramref name="seed"/> made it, bit for bit; then disposes the targets and <paramref name="saved"/>.
    /// </summary>
    private protected static async Task AssertLoadsBitExactAsync(CheckpointNode node, IReadOnlyList<(string Key, DType DType, Layout Layout, long Rows, long Cols)> model,
        int ranks, long? step, int seed, IEnumerable<RankState> saved)
    {
        var targets = TestStates.Empty(model, ranks);
        await LoadAllAsync(node, targets, step);
        Assert.Empty(TestStates.Differences(model, targets, seed));
        TestStates.Dispose(saved.Concat(targets));
    }

    /// <summary>Loads <paramref name="step"/> into every target.</summary>
    private protected static Task<LoadResult[]> LoadAllAsync(CheckpointNode node, IEnumerable<RankState> targets, long? step = null, StrictHandling? strict = null) =>
        Task.WhenAll(targets.Select(t => node.LoadAsync(t, step, strict))).WaitAsync(Patience);

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) ScratchDirectory.Delete(Root);
    }
}

using ActorCkpt;
using ActorCkpt.TestKit;
using Akka.Cluster;

namespace TrainingHost.Tests;

/// <summary>
/// The sample's training loop on an in-process cluster of the kit: two ranks on node 0, writers on
/// nodes 1 and 2; node 2 is killed while it holds a write of the first checkpoint. An Akka.TestKit
/// spec: a probe on node 0's actor system hears the killed node leave the cluster.
/// </summary>
public sealed class KilledNodeSpec : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private readonly TempRoot _dir = new();

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) _dir.Dispose();
    }

    private static RunOptions Rank(int rank, string root) => new() { Rank = rank, World = 2, Root = root, Steps = 10, SaveEvery = 5 };

    /// <summary>Both ranks of the job through <paramref name="checkpointer"/>, each with its own report.</summary>
    private static async Task<Run[]> TrainAsync(ICheckpointer checkpointer, string root)
    {
        Run.SingleThreaded();
        var runs = new[] { new Run(), new Run() };
        await Task.WhenAll(runs.Select((run, rank) => Task.Run(() => new TrainingLoop(Rank(rank, root), checkpointer, run.Report).RunAsync(CancellationToken.None))))
            .WaitAsync(Deadline);
        return runs;
    }

    [Fact]
    public async Task A_writer_node_killed_during_a_checkpoint_should_be_removed_and_training_go_on_bit_exact()
    {
        Run[] reference;
        await using (var alone = await Checkpointer.StartAsync(new CheckpointerOptions { Root = _dir.Sub("reference") }))
            reference = await TrainAsync(alone, _dir.Sub("reference"));

        var root = _dir.Sub("cluster");
        var faults = new StorageFaults();
        var held = faults.BlockWrite(1);
        await using var cluster = await ActorCkptTestCluster.StartAsync(root,
            Node(null, "rank", "planner"), Node(null, "writer"), Node(faults, "writer")).WaitAsync(Deadline);
        await cluster.AwaitReadyAsync(Deadline);

        var members = CreateTestProbe(cluster.Nodes[0].System);
        Cluster.Get(cluster.Nodes[0].System).Subscribe(members.Ref, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.MemberRemoved));

        var training = TrainAsync(cluster.Nodes[0].Checkpointer, root);
        var path = await held.Entered.WaitAsync(Deadline);
        await cluster.KillAsync(2).WaitAsync(Deadline);
        var removed = await members.FishForMessageAsync<ClusterEvent.MemberRemoved>(m => m.Member.Address.Equals(cluster.Nodes[2].Address), Deadline);
        var runs = await training;

        Assert.StartsWith("step-00000005/", path);
        Assert.Equal(MemberStatus.Down, removed.PreviousStatus);
        for (var rank = 0; rank < 2; rank++)
        {
            Assert.Equal(["5", "10"], runs[rank].Of("staged"));
            Assert.Equal(reference[rank].LossesAfter(0), runs[rank].LossesAfter(0));
            Assert.Equal(reference[rank].Of("params"), runs[rank].Of("params"));
        }
        // Both checkpoints committed, every file of them on the surviving writer node.
        var reader = CheckpointReader.Open(root);
        Assert.Equal([5L, 10L], reader.Steps);
        foreach (var step in reader.Steps)
            Assert.All(reader.ReadMetadata(step).Files, f => Assert.Equal(cluster.Nodes[1].Address.ToString(), f.Node));
    }

    private static TestNodeOptions Node(StorageFaults? faults, params string[] roles)
    {
        var node = TestNodeOptions.WithRoles(roles);
        // Files go to writers on other nodes than the rank's (there are none on node 0).
        node.Hocon = "actorckpt.planner.placement = spread";
        node.Faults = faults;
        return node;
    }
}

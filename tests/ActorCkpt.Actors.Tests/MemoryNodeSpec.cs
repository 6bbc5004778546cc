using Akka.Actor;

namespace ActorCkpt.Actors.Tests;

/// <summary>
/// A node's memory-tier wiring: with the tier on, its writers write into the node's replica store and
/// its holder announces itself to the planner, which watches it; with the tier off, nothing of it exists.
/// </summary>
public sealed class MemoryNodeSpec : NodeSpec
{
    private readonly string _shm = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), "actorckpt-memnode-" + Guid.NewGuid().ToString("N"));

    private ActorCkptSettings MemoryOn() => ActorCkptSettings.Create(Sys) with
    {
        MemoryTier = MemoryTierSettings.Off with { Enabled = true, Replicas = 1, Directory = _shm, Host = "h0", BudgetBytes = 1L << 30 },
    };

    [Fact]
    public async Task A_node_with_the_tier_on_should_write_memory_files_into_its_store_and_have_the_planner_watch_its_holder()
    {
        var node = StartNode(settings: MemoryOn());
        Assert.NotNull(node.Replicas);
        Assert.Equal(Path.Combine(_shm, ReplicaLayout.Namespace(Root), "h0"), node.Replicas!.Root);
        // The pool registers its writers with the planner as the node starts: wait until one is known.
        IActorRef? writer = null;
        await AwaitConditionAsync(async () => (writer = (await node.KnownWritersAsync(Patience)).FirstOrDefault()) is not null, Patience);
        var plan = new FileWritePlan("r00000-000-abcd1234.safetensors", 0, 0, new[] { WriteItem.ForObject("o", 0, 0, ObjectScope.Global, 100) });

        writer!.Tell(new WriteFile(1, Guid.NewGuid(), plan, new ReadOnlyMemory<byte>[] { new byte[100] }, TestActor, Tier: StorageTier.Memory));
        ExpectMsg<WriteFileSuccess>(Patience);
        Assert.Equal(plan.FileName, Assert.Single(node.Replicas.List().Held).DataFile);

        // The holder is up once it answers (it announced itself first); when it stops, the planner hears and says the host is gone.
        var holder = await Sys.ActorSelection("/user/node1-replicas").ResolveOne(Patience);
        await holder.Ask<ReplicaUsageReported>(new ReportReplicaUsage(), Patience);
        await EventFilter.Warning(contains: "host 'h0' is lost").ExpectOneAsync(Patience, () =>
        {
            Sys.Stop(holder);
            return Task.CompletedTask;
        });
    }

    [Fact]
    public async Task A_node_with_the_tier_off_should_have_no_store_and_no_holder()
    {
        var node = StartNode();
        var identity = await Sys.ActorSelection("/user/node1-replicas").Ask<ActorIdentity>(new Identify(1), Patience);

        Assert.Null(node.Replicas);
        Assert.Null(identity.Subject);
        Assert.False(Directory.Exists(_shm));
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) ScratchDirectory.Delete(_shm);
    }
}

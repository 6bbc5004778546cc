using System.Diagnostics;
using Akka.Actor;

namespace ActorCkpt.Actors.Tests;

/// <summary>
/// The memory tier's node side: a writer puts a memory-tier file into its node's tmpfs replica store
/// (the same bytes and result as on disk) or, without a store, refuses it at once; a peer's writer
/// takes a memory copy pushed over the bulk channel and its reader serves it back over the wire;
/// the holder announces what its store holds after a restart, drops replicas and removes a dead
/// writer's debris. Replica directories live under /dev/shm when there is one.
/// </summary>
public sealed class MemoryWriteSpec : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly string _root = Path.Combine(Path.GetTempPath(), "actorckpt-memwrite-" + Guid.NewGuid().ToString("N"));
    private readonly string _shm = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), "actorckpt-memwrite-" + Guid.NewGuid().ToString("N"));

    public MemoryWriteSpec() : base(ActorCkptConfig.Parse("akka.loglevel = WARNING\nakka.stdout-loglevel = WARNING"))
    {
        Directory.CreateDirectory(Path.Combine(_root, CheckpointLayout.StepDirectory(1)));
        Directory.CreateDirectory(_shm);
    }

    /// <summary>The memory tier on, over <see cref="_shm"/> as host <paramref name="host"/>, with a budget of 1 GiB.</summary>
    private MemoryTierSettings Tier(string host, bool verifyFull = false) =>
        MemoryTierSettings.Off with { Enabled = true, Directory = _shm, Host = host, BudgetBytes = 1L << 30, VerifyFull = verifyFull };

    /// <summary>Host <paramref name="host"/>'s store for <see cref="_root"/> (a new instance each time, as after a restart).</summary>
    private ReplicaStore Store(string host = "h0") => new(_shm, ReplicaLayout.Namespace(_root), host);

    /// <summary>A pool of one writer over <see cref="_root"/> and <paramref name="replicas"/>, registering with the test actor.</summary>
    private IActorRef StartWriter(ReplicaStore? replicas)
    {
        var settings = ActorCkptSettings.Create(Sys) with { WriterPoolSize = 1, MaxRetries = 2 };
        new CheckpointStore(new LocalBlobStore(_root)).RootId(); // a pool registers its writers once its root has an id
        Sys.ActorOf(WriterPoolActor.Props(new LocalBlobStore(_root), settings, TestActor, replicas));
        return ExpectMsg<RegisterWriters>(Patience).Writers.Single();
    }

    /// <summary>A file of two objects, one spanning several checksum blocks, and their bytes.</summary>
    private static (FileWritePlan Plan, ReadOnlyMemory<byte>[] Data) File(string name, int seed)
    {
        var plan = new FileWritePlan(name, 0, 0, new[]
        {
            WriteItem.ForObject("big", 0, 0, ObjectScope.Global, 3 << 20),
            WriteItem.ForObject("small", 0, 1, ObjectScope.Rank, 1000),
        });
        var random = new Random(seed);
        return (plan, plan.Items.Select(i =>
        {
            var bytes = new byte[i.ByteLength];
            random.NextBytes(bytes);
            return (ReadOnlyMemory<byte>)bytes;
        }).ToArray());
    }

    private static byte[] ReadAll(IBlobReader reader)
    {
        using (reader)
        {
            var bytes = new byte[reader.Length];
            reader.ReadExactly(bytes, 0);
            return bytes;
        }
    }

    /// <summary>A new holder's first words to its planner: that it is scanning its store, then what the store holds.</summary>
    private RegisterHolder Announcement()
    {
        var scanning = ExpectMsg<HolderScanning>(Patience);
        var registered = ExpectMsg<RegisterHolder>(Patience);
        Assert.Equal((scanning.Host, scanning.Holder), (registered.Host, registered.Holder));
        return registered;
    }

    [Fact]
    public void A_memory_write_should_land_in_the_store_with_the_bytes_and_result_of_a_disk_write()
    {
        var store = Store();
        var writer = StartWriter(store);
        var (plan, data) = File("r00000-000-abcd1234.safetensors", 1);
        var id = Guid.NewGuid();

        writer.Tell(new WriteFile(1, id, plan, data, TestActor, Replica: 1, Tier: StorageTier.Memory));
        var memory = ExpectMsg<WriteFileSuccess>(Patience);
        writer.Tell(new WriteFile(1, id, plan, data, TestActor));
        var disk = ExpectMsg<WriteFileSuccess>(Patience);

        // The copy answers as the copy it was asked for; the disk write as the primary.
        Assert.Equal((1, 0), (memory.Replica, disk.Replica));
        Assert.Null(ResultDifference.Between(disk.Result, memory.Result));
        var held = Assert.Single(Store().List().Held);
        Assert.Equal((1L, id, plan.FileName), (held.Step, held.SaveId, held.DataFile));
        Assert.Null(ResultDifference.Between(disk.Result, held.Result));
        Assert.Equal(ReadAll(new LocalBlobStore(_root).OpenRead(CheckpointLayout.InStep(1, plan.FileName))), ReadAll(store.OpenRead(1, plan.FileName)));
    }

    [Fact]
    public void A_memory_write_to_a_node_without_a_store_should_fail_at_once_naming_the_setting()
    {
        var writer = StartWriter(replicas: null);
        var (plan, data) = File("r00000-000-abcd1234.safetensors", 2);
        var id = Guid.NewGuid();

        writer.Tell(new WriteFile(1, id, plan, data, TestActor, Replica: 1, Tier: StorageTier.Memory));
        var failed = ExpectMsg<WriteFileFailure>(Patience);
        // A streamed copy is refused before the shard is asked for its bytes: its first message is the failure.
        var shard = CreateTestProbe();
        writer.Tell(new WriteFileStreamed(1, id, plan, shard.Ref, Grant: TransferToken.New(), Replica: 1, Tier: StorageTier.Memory));
        var streamed = shard.ExpectMsg<WriteFileFailure>(Patience);

        foreach (var failure in new[] { failed, streamed })
        {
            Assert.Equal((plan.FileName, 1, 1), (failure.File, failure.Attempts, failure.Replica));
            Assert.Contains("holds no memory replicas (actorckpt.tiers.memory.enabled is off there)", failure.Cause);
        }
        Assert.False(System.IO.File.Exists(Path.Combine(_root, CheckpointLayout.InStep(1, plan.FileName))));
        // A reader without a store says the same.
        var reader = Sys.ActorOf(ReaderActor.Props(new LocalBlobStore(_root), ActorCkptSettings.Create(Sys)));
        reader.Tell(new ReadRange(1, plan.FileName, 0, 10, Tier: StorageTier.Memory));
        Assert.Contains("actorckpt.tiers.memory.enabled is off there", ExpectMsg<ReadRangeFailure>(Patience).Cause);
    }

    [Fact]
    public async Task A_memory_copy_pushed_to_a_peer_should_land_in_its_store_and_come_back_through_its_reader()
    {
        await using var cluster = await TestCluster.StartAsync(_root, "",
            new TestNode("planner, rank, writer", Settings: s => ActorCkptSettings.Create(s) with { MemoryTier = Tier("h0") }),
            new TestNode("writer", Settings: s => ActorCkptSettings.Create(s) with { MemoryTier = Tier("h1") }));
        var (local, peer) = (cluster.Systems[0], TestCluster.Address(cluster.Systems[1]));
        var settings = cluster.Nodes[0].Settings;
        Assert.Equal(("h0", "h1"), (cluster.Nodes[0].Replicas!.Host, cluster.Nodes[1].Replicas!.Host));
        var writer = await local.ActorSelection(new RootActorPath(peer) / "user" / "actorckpt-writers" / "writer-0").ResolveOne(Patience);
        // The planner asks each node's holder for its copies when the node comes up, and drops those of no
        // committed step: it must have done so for both before this test writes a copy outside a round.
        await AwaitConditionAsync(async () => (await cluster.Nodes[0].Planner.Ask<HoldersListed>(new ListHolders(), Patience)).Hosts.Order().SequenceEqual(["h0", "h1"]), Patience);
        var (plan, data) = File("r00000-000-abcd1234.safetensors", 3);
        var id = Guid.NewGuid();
        var grant = TransferToken.New();

        // The shard's part, from node 0: the peer's writer asks for the bytes, and they are pushed to its bulk server.
        var shard = CreateTestProbe(local);
        writer.Tell(new WriteFileStreamed(1, id, plan, shard.Ref, 1, grant, Replica: 1, Tier: StorageTier.Memory), shard.Ref);
        var asked = shard.ExpectMsg<StreamFile>(Patience);
        var asker = shard.LastSender;
        Assert.Equal((plan.FileName, 1, 1), (asked.File, asked.Attempt, asked.Replica));
        await BulkChannels.Get(local).For(settings).Client.PushAsync(asked.Endpoint!, grant.ForAttempt(asked.Attempt), plan.Items.Sum(i => i.ByteLength), data)
            .WaitAsync(Patience);
        asker.Tell(new StreamFilePushed(plan.FileName, null, 1));
        var written = shard.ExpectMsg<WriteFileSuccess>(Patience);

        Assert.Equal(1, written.Replica);
        var held = Assert.Single(cluster.Nodes[1].Replicas!.List().Held);
        Assert.Equal((1L, id, plan.FileName), (held.Step, held.SaveId, held.DataFile));
        Assert.Null(ResultDifference.Between(written.Result, held.Result));
        Assert.Empty(cluster.Nodes[0].Replicas!.List().Held);
        Assert.False(System.IO.File.Exists(Path.Combine(_root, CheckpointLayout.InStep(1, plan.FileName))));

        // The peer's reader serves the copy over the wire and the bulk channel, at the data file's offsets.
        var reader = local.ActorSelection(new RootActorPath(peer) / "user" / "actorckpt-reader");
        var offer = await reader.Ask<IActorCkptMessage>(new ReadRange(1, plan.FileName, 0, written.Result.Length, Tier: StorageTier.Memory), Patience);
        var offered = Assert.IsType<ReadRangeOffered>(offer);
        var fetched = new byte[written.Result.Length];
        await BulkChannels.Get(local).For(settings).Client.FetchAsync(offered.Endpoint, offered.Token, fetched).WaitAsync(Patience);

        Assert.Equal(ReadAll(cluster.Nodes[1].Replicas!.OpenRead(1, plan.FileName)), fetched);
        for (var i = 0; i < plan.Items.Count; i++)
        {
            var bytes = written.Result.Items[i].Bytes;
            Assert.True(fetched.AsSpan((int)bytes.Offset, (int)bytes.Length).SequenceEqual(data[i].Span), $"item {i} differs");
        }
        // The disk tier of the same reader still reads the root: there is no such file there.
        Assert.IsType<ReadRangeFailure>(await reader.Ask<IActorCkptMessage>(new ReadRange(1, plan.FileName, 0, 10), Patience));
        // The peer's holder answers over the wire too, its inventory carrying the replica's result as its header recorded it.
        var holder = local.ActorSelection(new RootActorPath(peer) / "user" / "actorckpt-replicas");
        var usage = await holder.Ask<ReplicaUsageReported>(new ReportReplicaUsage(), Patience);
        Assert.Equal(("h1", held.FileBytes), (usage.Host, usage.FileBytes));
        var inventory = await holder.Ask<RegisterHolder>(new ListHeldReplicas(), Patience);
        Assert.Equal(("h1", peer), (inventory.Host, inventory.Holder.Path.Address));
        var announced = Assert.Single(inventory.Held);
        Assert.Equal((1L, id, plan.FileName, held.FileBytes), (announced.Step, announced.SaveId, announced.DataFile, announced.FileBytes));
        Assert.Null(ResultDifference.Between(written.Result, announced.Result));
    }

    [Fact]
    public void A_holder_should_announce_what_a_previous_store_wrote_remove_dead_debris_and_drop_on_request()
    {
        // What a previous process on host h0 left: two replicas, and a temporary file of a writer that is gone.
        var id = Guid.NewGuid();
        var before = Store();
        foreach (var (name, seed) in new[] { ("r00000-000-abcd1234.safetensors", 4), ("r00001-000-abcd1234.safetensors", 5) })
        {
            var (plan, data) = File(name, seed);
            DataFileBufferWriter.Write(() => before.Create(1, id, plan, 1 << 20, new Dictionary<string, string>()), plan, data);
        }
        using var exited = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        exited.WaitForExit();
        var debris = Path.Combine(before.Root, CheckpointLayout.StepDirectory(1), ReplicaLayout.TempName("r00002-000-abcd1234.safetensors", exited.Id, "abcd1234"));
        System.IO.File.WriteAllBytes(debris, new byte[100]);

        var holder = Sys.ActorOf(ReplicaHolderActor.Props(Store(), Tier("h0"), TestActor));
        var registered = Announcement();

        Assert.Equal(("h0", 1L << 30), (registered.Host, registered.BudgetBytes));
        Assert.Equal(holder, registered.Holder);
        Assert.Equal(new[] { "r00000-000-abcd1234.safetensors", "r00001-000-abcd1234.safetensors" }, registered.Held.Select(h => h.DataFile));
        Assert.All(registered.Held, h => Assert.Equal((1L, id), (h.Step, h.SaveId)));
        Assert.False(System.IO.File.Exists(debris));

        // Asked again, it announces again.
        holder.Tell(new ListHeldReplicas());
        Assert.Equal(2, ExpectMsg<RegisterHolder>(Patience).Held.Length);

        // One file, then the rest of the step.
        holder.Tell(new DropReplicas(1, new[] { "r00001-000-abcd1234.safetensors" }, "test"));
        var one = ExpectMsg<ReplicasDropped>(Patience);
        Assert.Equal(("h0", 1L, registered.Held[1].FileBytes), (one.Host, one.Step, one.FreedBytes));
        Assert.Equal(new[] { "r00000-000-abcd1234.safetensors" }, Store().List().Held.Select(h => h.DataFile));
        // A name that is not a data file is refused, naming it.
        holder.Tell(new DropReplicas(1, new[] { "../x" }, "test"));
        Assert.Contains("'../x'", ExpectMsg<DropReplicasFailure>(Patience).Cause);
        holder.Tell(new DropReplicas(1, null, "test"));
        Assert.Equal(registered.Held[0].FileBytes, ExpectMsg<ReplicasDropped>(Patience).FreedBytes);
        Assert.Empty(Store().List().Held);
        Assert.False(Directory.Exists(Path.Combine(before.Root, CheckpointLayout.StepDirectory(1))));
        holder.Tell(new ReportReplicaUsage());
        Assert.Equal(0, ExpectMsg<ReplicaUsageReported>(Patience).FileBytes);
    }

    [Fact]
    public void An_eviction_should_keep_the_files_as_spares_for_the_next_replicas_and_release_the_unclaimed_ones()
    {
        var id = Guid.NewGuid();
        var store = Store();
        var plans = new[] { File("r00000-000-abcd1234.safetensors", 1), File("r00001-000-abcd1234.safetensors", 2) };
        foreach (var (plan, data) in plans)
            DataFileBufferWriter.Write(() => store.Create(1, id, plan, 1 << 20, new Dictionary<string, string>()), plan, data);
        var bytes = store.List().Held.Sum(h => h.FileBytes);
        // A long wait: nothing is released while the test looks.
        var holder = Sys.ActorOf(ReplicaHolderActor.Props(Store(), Tier("h0") with { RecycleFor = TimeSpan.FromHours(1) }, TestActor));
        Announcement();

        holder.Tell(new DropReplicas(1, null, "evicted", Recycle: true));
        Assert.Equal(("h0", 1L, 0L), ExpectMsg<ReplicasDropped>(Patience) is var dropped ? (dropped.Host, dropped.Step, dropped.FreedBytes) : default);
        Assert.Empty(Store().List().Held);
        holder.Tell(new ReportReplicaUsage());
        var usage = ExpectMsg<ReplicaUsageReported>(Patience);
        Assert.Equal((0L, bytes), (usage.FileBytes, usage.SpareBytes));

        // The next step's replica takes one spare over; the other waits.
        var (next, nextData) = File("r00000-000-ef012345.safetensors", 3);
        DataFileBufferWriter.Write(() => store.Create(2, id, next, 1 << 20, new Dictionary<string, string>()), next, nextData);
        holder.Tell(new ReportReplicaUsage());
        usage = ExpectMsg<ReplicaUsageReported>(Patience);
        Assert.Equal((bytes / 2, bytes / 2), (usage.FileBytes, usage.SpareBytes));

        // A drop that is not an eviction (a failed round, a bad checksum) deletes, whatever recycle-for says.
        DataFileBufferWriter.Write(() => store.Create(3, id, next, 1 << 20, new Dictionary<string, string>()), next, nextData);
        holder.Tell(new DropReplicas(3, null, "its memory round was aborted"));
        Assert.Equal(bytes / 2, ExpectMsg<ReplicasDropped>(Patience).FreedBytes);
        holder.Tell(new ReportReplicaUsage());
        Assert.Equal((bytes / 2, 0L), ExpectMsg<ReplicaUsageReported>(Patience) is var after ? (after.FileBytes, after.SpareBytes) : default);

        // With a short wait, spares go: the one an earlier holder left at start, one made after it by its timer.
        Watch(holder);
        Sys.Stop(holder);
        ExpectTerminated(holder, Patience);
        var quick = Sys.ActorOf(ReplicaHolderActor.Props(Store(), Tier("h0") with { RecycleFor = TimeSpan.FromMilliseconds(200) }, TestActor));
        Assert.Equal(2L, Announcement().Held.Single().Step);
        quick.Tell(new DropReplicas(2, null, "evicted", Recycle: true));
        Assert.Equal(0, ExpectMsg<ReplicasDropped>(Patience).FreedBytes);
        AwaitAssert(() =>
        {
            quick.Tell(new ReportReplicaUsage());
            Assert.Equal(0, ExpectMsg<ReplicaUsageReported>(Patience).SpareBytes);
        }, Patience, TimeSpan.FromMilliseconds(100));
        Assert.Empty(Directory.GetFiles(Path.Combine(store.Root, ReplicaLayout.SpareDirectory)));
    }

    [Fact]
    public void A_stopping_holder_should_delete_its_spares_however_long_recycle_for_is()
    {
        var store = Store();
        var (plan, data) = File("r00000-000-abcd1234.safetensors", 1);
        DataFileBufferWriter.Write(() => store.Create(1, Guid.NewGuid(), plan, 1 << 20, new Dictionary<string, string>()), plan, data);
        var holder = Sys.ActorOf(ReplicaHolderActor.Props(Store(), Tier("h0") with { RecycleFor = TimeSpan.FromHours(1) }, TestActor));
        Announcement();
        holder.Tell(new DropReplicas(1, null, "evicted", Recycle: true));
        Assert.Equal(0, ExpectMsg<ReplicasDropped>(Patience).FreedBytes);
        Assert.Single(Directory.GetFiles(Path.Combine(store.Root, ReplicaLayout.SpareDirectory)));

        Watch(holder);
        Sys.Stop(holder);
        ExpectTerminated(holder, Patience);

        // Before, they stayed in tmpfs (RAM) after the process ended, until a holder of the host started again.
        Assert.Empty(Directory.GetFiles(Path.Combine(store.Root, ReplicaLayout.SpareDirectory)));
    }

    [Fact]
    public void With_recycle_for_zero_an_eviction_should_delete_the_files_at_once()
    {
        var id = Guid.NewGuid();
        var store = Store();
        var (plan, data) = File("r00000-000-abcd1234.safetensors", 1);
        DataFileBufferWriter.Write(() => store.Create(1, id, plan, 1 << 20, new Dictionary<string, string>()), plan, data);
        var bytes = store.List().Held.Single().FileBytes;
        var holder = Sys.ActorOf(ReplicaHolderActor.Props(Store(), Tier("h0") with { RecycleFor = TimeSpan.Zero }, TestActor));
        Announcement();

        holder.Tell(new DropReplicas(1, null, "evicted", Recycle: true));
        Assert.Equal(bytes, ExpectMsg<ReplicasDropped>(Patience).FreedBytes);
        holder.Tell(new ReportReplicaUsage());
        Assert.Equal((0L, 0L), ExpectMsg<ReplicaUsageReported>(Patience) is var usage ? (usage.FileBytes, usage.SpareBytes) : default);
    }

    [Fact]
    public void A_holder_verifying_in_full_should_drop_a_corrupted_replica_before_announcing()
    {
        var id = Guid.NewGuid();
        var before = Store();
        foreach (var (name, seed) in new[] { ("r00000-000-abcd1234.safetensors", 6), ("r00001-000-abcd1234.safetensors", 7) })
        {
            var (plan, data) = File(name, seed);
            DataFileBufferWriter.Write(() => before.Create(1, id, plan, 1 << 20, new Dictionary<string, string>()), plan, data);
        }
        // One payload byte of the second replica flipped, near its end (the small object's bytes).
        var corrupted = Path.Combine(before.Root, CheckpointLayout.StepDirectory(1), ReplicaLayout.ReplicaName("r00001-000-abcd1234.safetensors"));
        using (var stream = new FileStream(corrupted, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Position = stream.Length - 10;
            var b = stream.ReadByte();
            stream.Position = stream.Length - 10;
            stream.WriteByte((byte)(b ^ 0xff));
        }

        Sys.ActorOf(ReplicaHolderActor.Props(Store(), Tier("h0", verifyFull: true), TestActor));
        var registered = Announcement();

        Assert.Equal(new[] { "r00000-000-abcd1234.safetensors" }, registered.Held.Select(h => h.DataFile));
        Assert.False(System.IO.File.Exists(corrupted));
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (!disposing) return;
        ScratchDirectory.Delete(_root);
        ScratchDirectory.Delete(_shm);
    }
}

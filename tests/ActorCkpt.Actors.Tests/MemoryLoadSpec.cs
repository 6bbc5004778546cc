using Akka.Actor;
using Akka.TestKit;

namespace ActorCkpt.Actors.Tests;

/// <summary>
/// Loads from the memory tier on one host (R = 1): bit-exact and resharded from the host's tmpfs
/// copies; after a process restart from the copies the restarted process finds; from disk once the
/// host that held the newest step is gone (its copies then marked lost); and a copy
/// whose checksum fails, or that is gone from its live holder, is refused, marked lost, and never read again.
/// </summary>
public sealed class MemoryLoadSpec : MemoryTierSpec
{
    private static RankState[] Targets(int world) => TestStates.Empty(Model, world);

    [Fact]
    public async Task A_memory_step_should_load_bit_exact_from_the_hosts_copies_and_reshard_as_from_files()
    {
        var (system, node) = Process();
        await HolderUp(system);
        await Save(node, 1);

        var targets = Targets(3);
        var results = await Task.WhenAll(targets.Select(t => node.LoadAsync(t))).WaitAsync(Patience);
        Assert.All(results, r => Assert.Equal((1L, StorageTier.Memory, 0L), (r.Step, r.Tier, r.BytesFromPeers)));
        Assert.Empty(TestStates.Differences(Model, targets, seed: 1));
        TestStates.Dispose(targets);
    }

    [Fact]
    public async Task A_process_restarted_on_the_same_host_should_load_the_newest_step_from_its_own_tmpfs_copies()
    {
        var (first, before) = Process();
        await HolderUp(first);
        await Save(before, 1);
        await Save(before, 2);
        await first.Terminate();

        var (_, node) = Process();
        // Loaded at once: the planner waits for the recorded host to announce itself instead of passing the steps over.
        var targets = Targets(2);
        var results = await Task.WhenAll(targets.Select(t => node.LoadAsync(t))).WaitAsync(Patience);
        Assert.All(results, r => Assert.Equal((2L, StorageTier.Memory), (r.Step, r.Tier)));
        Assert.Empty(TestStates.Differences(Model, targets, seed: 2));
        Assert.Equal([1L, 2L], (await Catalog(node)).Where(e => e.InMemory).Select(e => e.Step));
        TestStates.Dispose(targets);
    }

    [Fact]
    public async Task A_host_whose_holder_still_scans_when_lost_after_passes_should_not_be_lost_and_a_load_should_wait_for_it()
    {
        await SaveDiskThenMemoryStep();
        using var scan = new ManualResetEventSlim();
        var (system, node, log) = ProcessWhoseScanWaits(scan);
        var targets = Targets(2);
        var loads = Task.WhenAll(targets.Select(t => node.LoadAsync(t)));

        // Before, the planner marked the host lost at lost-after and the loads took disk step 1.
        await StillScanningTold(log);
        // A planner that took over meanwhile asks: it hears the scan goes on, and then what the store holds.
        var holder = await system.ActorSelection("/user/actorckpt-replicas").ResolveOne(Patience);
        var successor = CreateTestProbe(system);
        successor.Send(holder, new ListHeldReplicas());
        Assert.Equal("h0", (await successor.ExpectMsgAsync<HolderScanning>(Patience)).Host);
        scan.Set();
        var registered = await successor.ExpectMsgAsync<RegisterHolder>(Patience);
        Assert.Equal(("h0", holder), (registered.Host, registered.Holder));

        var results = await loads.WaitAsync(Patience);
        Assert.All(results, r => Assert.Equal((2L, StorageTier.Memory), (r.Step, r.Tier)));
        Assert.Empty(TestStates.Differences(Model, targets, seed: 2));
        Assert.True((await Catalog(node)).Single(e => e.Step == 2).Memory!.Loadable);
        TestStates.Dispose(targets);
    }

    [Fact]
    public async Task A_host_whose_holder_stops_during_its_scan_after_lost_after_should_be_lost_and_a_load_go_to_disk()
    {
        await SaveDiskThenMemoryStep();
        using var scan = new ManualResetEventSlim();
        var (system, node, log) = ProcessWhoseScanWaits(scan);
        var targets = Targets(2);
        var loads = Task.WhenAll(targets.Select(t => node.LoadAsync(t)));
        await StillScanningTold(log);

        system.Stop(await system.ActorSelection("/user/actorckpt-replicas").ResolveOne(Patience));
        var results = await loads.WaitAsync(Patience);
        scan.Set();
        Assert.All(results, r => Assert.Equal((1L, StorageTier.Disk), (r.Step, r.Tier)));
        Assert.False((await Catalog(node)).Single(e => e.Step == 2).Memory!.Loadable);
        TestStates.Dispose(targets);
    }

    [Fact]
    public async Task A_planner_whose_recovery_outlasts_lost_after_should_count_lost_after_from_when_it_answers()
    {
        await SaveDiskThenMemoryStep();
        using var scan = new ManualResetEventSlim();
        // Its catalog settles 2 s into its recovery (a slow disk listing), lost-after being 1 s; the host said it scans meanwhile.
        var (system, node, log) = ProcessWhoseScanWaits(scan, blobs => new SlowRootListing(blobs, TimeSpan.FromSeconds(2)));
        var targets = Targets(2);
        var loads = Task.WhenAll(targets.Select(t => node.LoadAsync(t)));

        // Before, lost-after counted from the planner's construction: it passed during the recovery, and the
        // host was marked lost before the planner heard (from the supervisor's stash) that it scans; the loads took disk step 1.
        await StillScanningTold(log);
        scan.Set();
        var results = await loads.WaitAsync(Patience);
        Assert.All(results, r => Assert.Equal((2L, StorageTier.Memory), (r.Step, r.Tier)));
        Assert.True((await Catalog(node)).Single(e => e.Step == 2).Memory!.Loadable);
        TestStates.Dispose(targets);
    }

    /// <summary>A root whose listings take until <paramref name="hold"/> after the first one began: a recovery (its disk reconciled) that outlasts lost-after.</summary>
    private sealed class SlowRootListing(IBlobStore inner, TimeSpan hold) : DelegatingBlobStore(inner)
    {
        private readonly Lazy<DateTime> _until = new(() => DateTime.UtcNow + hold);

        public override IReadOnlyList<string> ListDirectories(string path)
        {
            if (path == "" && _until.Value - DateTime.UtcNow is var left && left > TimeSpan.Zero) Thread.Sleep(left);
            return base.ListDirectories(path);
        }
    }

    /// <summary>Step 1 on disk and step 2 in memory on host h0, by a process that then ends.</summary>
    private async Task SaveDiskThenMemoryStep()
    {
        var (first, before) = Process();
        await HolderUp(first);
        await Save(before, 1, SaveTier.Disk);
        await Save(before, 2);
        await first.Terminate();
    }

    /// <summary>
    /// A process restarted on h0 (lost-after 1 s) whose holder's start-up scan waits for <paramref name="scan"/>:
    /// the blocking-I/O dispatcher, where the scan runs, has one thread, taken until then (the planner runs elsewhere).
    /// </summary>
    private (ActorSystem System, CheckpointNode Node, TestProbe Log) ProcessWhoseScanWaits(ManualResetEventSlim scan, Func<IBlobStore, IBlobStore>? store = null)
    {
        TestProbe log = null!;
        var (system, node) = Process(extra: """
            actorckpt.tiers.memory.lost-after = 1s
            actorckpt.planner { plan-timeout = 2h, dispatcher = "akka.actor.default-dispatcher" }
            akka.actor.default-blocking-io-dispatcher {
              executor = fork-join-executor
              fork-join-executor { parallelism-min = 1, parallelism-factor = 1.0, parallelism-max = 1 }
            }
            """, store: store, beforeStart: s =>
        {
            log = CreateTestProbe(s);
            s.EventStream.Subscribe(log.Ref, typeof(Akka.Event.Warning));
            s.Dispatchers.Lookup("akka.actor.default-blocking-io-dispatcher").Schedule(() => scan.Wait());
        });
        return (system, node, log);
    }

    /// <summary>Waits for the planner's line that h0's holder is still scanning once lost-after has passed.</summary>
    private static async Task StillScanningTold(TestProbe log) =>
        await log.FishForMessageAsync<Akka.Event.Warning>(w => w.Message.ToString()!.StartsWith(
            "Memory tier: host 'h0' has not announced what it holds within 00:00:01 of the planner's start: its replica holder is still scanning its store", StringComparison.Ordinal), Patience);

    [Fact]
    public async Task A_load_whose_newest_step_the_announced_hosts_hold_should_not_wait_for_a_silent_host()
    {
        var (first, before) = Process();
        await HolderUp(first);
        await Save(before, 1);
        await first.Terminate();

        // Host h0 (holder of step 1) never comes back; h1 holds step 2, the newest.
        var (system, node) = Process(host: "h1", extra: "actorckpt.tiers.memory.lost-after = 1h\nactorckpt.planner.plan-timeout = 2h");
        await HolderUp(system);
        await Save(node, 2);

        // Before, every load waited for h0 to announce itself, up to lost-after (here an hour), though h0 could give it nothing newer.
        var targets = Targets(2);
        var results = await Task.WhenAll(targets.Select(t => node.LoadAsync(t))).WaitAsync(Patience);
        Assert.All(results, r => Assert.Equal((2L, StorageTier.Memory), (r.Step, r.Tier)));
        Assert.Empty(TestStates.Differences(Model, targets, seed: 2));
        TestStates.Dispose(targets);
    }

    [Fact]
    public async Task A_load_of_an_evicted_step_should_say_what_became_of_it()
    {
        var (system, node) = Process(extra: "actorckpt.tiers.memory.keep-last = 1");
        await HolderUp(system);
        await Save(node, 1);
        await Save(node, 2);
        await AwaitConditionAsync(async () => (await Catalog(node)).Single(e => e.Step == 1).Status == CheckpointStatus.Deleted, Patience);
        var evicted = (await Catalog(node)).Single(e => e.Step == 1);

        // Before: "step 1 is not a committed checkpoint in '…'", with the catalog's reason left out.
        var targets = Targets(1);
        var refused = await Assert.ThrowsAnyAsync<ActorCkptException>(() => node.LoadAsync(targets[0], 1)).WaitAsync(Patience);
        Assert.Equal($"step 1 is not a committed checkpoint in '{Root}' (it is deleted: {evicted.Reason})", refused.Message);
        Assert.NotNull(evicted.Reason);
        TestStates.Dispose(targets);
    }

    [Fact]
    public async Task With_the_only_holder_gone_the_load_should_fall_back_to_the_newest_disk_step_and_mark_the_memory_step_lost()
    {
        var (first, before) = Process();
        await HolderUp(first);
        await Save(before, 1, SaveTier.Disk);
        await Save(before, 2);
        await first.Terminate();

        // The machine is replaced: another host, its tmpfs empty; h0 is lost once lost-after passes.
        ScratchDirectory.Delete(Shm);
        var (system, node) = Process(host: "h1", extra: "actorckpt.tiers.memory.lost-after = 2s");
        await HolderUp(system);
        var targets = Targets(2);
        var results = await Task.WhenAll(targets.Select(t => node.LoadAsync(t))).WaitAsync(Patience);
        Assert.All(results, r => Assert.Equal((1L, StorageTier.Disk), (r.Step, r.Tier)));
        Assert.Empty(TestStates.Differences(Model, targets, seed: 1));
        var step2 = (await Catalog(node)).Single(e => e.Step == 2);
        Assert.False(step2.Memory!.Loadable);
        TestStates.Dispose(targets);
    }

    [Theory]
    [InlineData(false)]
    // Before: a copy deleted from tmpfs under its live holder was skipped by each load but never marked lost: the
    // step stayed "loadable", and every load of the newest step failed on it again.
    [InlineData(true)]
    public async Task A_copy_whose_checksum_fails_or_that_is_gone_should_be_refused_marked_lost_and_the_next_load_go_to_disk(bool deleted)
    {
        var (system, node) = Process();
        await HolderUp(system);
        await Save(node, 1, SaveTier.Disk);
        await Save(node, 2);
        var copy = node.Replicas!.List().Held.First(h => h.Step == 2 && h.Result.Items.Count > 0);
        if (deleted) File.Delete(ReplicaPath(copy));
        else FlipPayloadByte(copy);

        var failed = await Assert.ThrowsAnyAsync<Exception>(() => Task.WhenAll(Targets(2).Select(t => node.LoadAsync(t))).WaitAsync(Patience));
        Assert.Contains($"no holder could serve '{copy.DataFile}' from memory", failed.Message);
        Assert.Contains("h0", failed.Message);
        await AwaitAssertAsync(async () =>
            Assert.Equal([0], (await Catalog(node)).Single(e => e.Step == 2).Memory!.Shards.Single(s => s.File == copy.DataFile).Lost), Patience);
        await AwaitAssertAsync(() => Assert.DoesNotContain(node.Replicas.List().Held, h => h.Step == 2 && h.DataFile == copy.DataFile), Patience);

        var targets = Targets(2);
        var results = await Task.WhenAll(targets.Select(t => node.LoadAsync(t))).WaitAsync(Patience);
        Assert.All(results, r => Assert.Equal((1L, StorageTier.Disk), (r.Step, r.Tier)));
        TestStates.Dispose(targets);
    }

    /// <summary>The replica file of <paramref name="copy"/>.</summary>
    private string ReplicaPath(HeldReplica copy) =>
        Directory.EnumerateFiles(Shm, copy.DataFile + ReplicaLayout.ReplicaSuffix, SearchOption.AllDirectories).Single();

    /// <summary>Flips the first data byte of <paramref name="copy"/>'s first item, in its replica file.</summary>
    private void FlipPayloadByte(HeldReplica copy)
    {
        var path = ReplicaPath(copy);
        var item = copy.Result.Items[0].Bytes;
        // The payload, the data file as written, is the replica's last Result.Length bytes.
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        var payload = file.Length - copy.Result.Length;
        file.Position = payload + item.Offset;
        var b = file.ReadByte();
        file.Position = payload + item.Offset;
        file.WriteByte((byte)(b ^ 0xFF));
    }
}

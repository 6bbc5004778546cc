using Akka.Actor;
using Akka.Configuration;

namespace ActorCkpt.Actors.Tests;

public class StorageFailureSpec : NodeSpec
{
    private static readonly IReadOnlyList<(string Key, DType DType, Layout Layout, long Rows, long Cols)> Model =
        TestStates.Model(new[] { DType.Float32 }, new[] { Layout.Rows, Layout.Replicated });

    private static async Task AssertStep1Loads(CheckpointNode node)
    {
        var targets = TestStates.Empty(Model, 2);
        var results = await LoadAllAsync(node, targets);
        Assert.All(results, r => Assert.Equal(1, r.Step));
        Assert.Empty(TestStates.Differences(Model, targets, seed: 1));
        TestStates.Dispose(targets);
    }

    [Theory]
    [InlineData("disk full", "No space left on device")]
    [InlineData("access denied", "is denied")]
    public async Task A_save_on_full_or_forbidden_storage_should_fail_at_once_with_that_cause_remove_its_files_and_keep_the_previous_checkpoint(string kind, string cause)
    {
        var step2 = CheckpointLayout.StepDirectory(2) + "/*";
        var faults = kind == "disk full" ? FaultPolicy.DiskFull(step2) : FaultPolicy.AccessDenied(step2);
        var node = StartNode(faults);
        var states = TestStates.Build(Model, 2, seed: 1);
        await SaveAllAsync(node, 1, states);

        var handles = TestStates.Build(Model, 2, seed: 2).Select(s => node.Save(2, s)).ToArray();
        var e = await Assert.ThrowsAsync<CheckpointFailedException>(() => handles[0].Committed.WaitAsync(Patience));

        Assert.Contains(cause, e.Message);
        // No retry can cure it: each file was tried once.
        Assert.Contains("after 1 attempts", e.Message);
        AwaitCondition(() => !Directory.Exists(Path.Combine(Root, CheckpointLayout.StepDirectory(2))), Patience);
        Assert.Equal(new long[] { 1 }, node.Store.CommittedSteps());
        var entry = (await node.Planner.Ask<CatalogRead>(new ReadCatalog(), Patience)).Entries.Single(x => x.Step == 2);
        Assert.Equal(CheckpointStatus.Aborted, entry.Status);
        Assert.Contains(cause, entry.Reason);
        await AssertStep1Loads(node);
        TestStates.Dispose(states);
    }

    [TmpfsFact]
    public void The_catalog_lock_should_be_taken_on_a_full_disk_and_name_no_stale_holder()
    {
        // A planner restarting after a save filled the disk must still open the root: it is what
        // frees the failed save's space. The holder record is then left out, not the lock.
        using var disk = new Tmpfs(1 << 20);
        var store = new LocalBlobStore(disk.Path);
        // The lock file exists (creating it takes no block); a holder that left names itself beside it.
        store.Lock(CheckpointLayout.CatalogLockFile).Dispose();
        var stale = new LockHolder(1, "a-host-long-gone", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, "old");
        File.WriteAllText(Path.Combine(disk.Path, CheckpointLayout.LockHolderFile(CheckpointLayout.CatalogLockFile)), stale.ToJson());
        Assert.Equal(stale, LockHolder.Parse(File.ReadAllText(Path.Combine(disk.Path, CheckpointLayout.LockHolderFile(CheckpointLayout.CatalogLockFile)))));
        FillUp(disk.Path);

        using var held = store.Lock(CheckpointLayout.CatalogLockFile);

        var refused = Assert.Throws<LockHeldException>(() => new LocalBlobStore(disk.Path).Lock(CheckpointLayout.CatalogLockFile));
        Assert.Null(refused.Holder);
        Assert.Empty(Directory.GetFiles(disk.Path, "*.tmp"));
    }

    [TmpfsFact]
    public async Task A_node_should_start_and_load_from_a_root_whose_disk_is_full()
    {
        using var disk = new Tmpfs(8 << 20);
        var config = ActorCkptConfig.WithCatalog(ConfigurationFactory.ParseString(TestConfig).WithFallback(ActorCkptConfig.Defaults), disk.Path);
        var first = ActorSystem.Create("tmpfs", config);
        try
        {
            var states = TestStates.Build(Model, 2, seed: 1);
            await SaveAllAsync(CheckpointNode.Start(first, new LocalBlobStore(disk.Path)), 1, states);
            TestStates.Dispose(states);
        }
        finally
        {
            await first.Terminate();
        }
        FillUp(disk.Path);

        var second = ActorSystem.Create("tmpfs", config);
        try
        {
            await AssertStep1Loads(CheckpointNode.Start(second, new LocalBlobStore(disk.Path)));
        }
        finally
        {
            await second.Terminate();
        }
    }

    /// <summary>Writes a file into <paramref name="dir"/> until its disk says it is full.</summary>
    private static void FillUp(string dir)
    {
        using var fill = File.Create(Path.Combine(dir, "filler"));
        var block = new byte[64 << 10];
        var e = Assert.Throws<IOException>(() =>
        {
            for (var i = 0; i < 1 << 20; i++) fill.Write(block);
        });
        Assert.Contains("No space left on device", e.Message);
    }

    [TmpfsFact]
    public async Task A_save_that_fills_a_real_disk_should_fail_with_ENOSPC_free_its_space_and_keep_the_previous_checkpoint()
    {
        using var disk = new Tmpfs(8 << 20);
        var system = ActorSystem.Create("tmpfs", ActorCkptConfig.WithCatalog(
            ConfigurationFactory.ParseString(TestConfig).WithFallback(ActorCkptConfig.Defaults), disk.Path));
        try
        {
            var node = CheckpointNode.Start(system, new LocalBlobStore(disk.Path));
            var small = TestStates.Build(Model, 2, seed: 1);
            await SaveAllAsync(node, 1, small);
            var big = TestStates.Model(new[] { DType.Float32 }, new[] { Layout.Rows }).Select(m => m with { Rows = 4096, Cols = 1024 }).ToList();
            var bigStates = TestStates.Build(big, 2, seed: 2);

            var handles = bigStates.Select(s => node.Save(2, s)).ToArray();
            var e = await Assert.ThrowsAsync<CheckpointFailedException>(() => handles[0].Committed.WaitAsync(Patience));

            Assert.Contains("No space left on device", e.Message);
            AwaitCondition(() => !Directory.Exists(Path.Combine(disk.Path, CheckpointLayout.StepDirectory(2))), Patience);
            Assert.True(new DriveInfo(disk.Path).AvailableFreeSpace > 4 << 20, "the failed save's partial files still take the space");
            await AssertStep1Loads(node);
            TestStates.Dispose(small.Concat(bigStates));
        }
        finally
        {
            await system.Terminate();
        }
    }
}

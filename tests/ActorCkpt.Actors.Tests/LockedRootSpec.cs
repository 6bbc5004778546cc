using Akka.Actor;
using Akka.Event;

namespace ActorCkpt.Actors.Tests;

/// <summary>
/// A planner whose start fails (another holder has the root's lock; its journal cannot be
/// recovered) tries a bounded number of times, logging each try once, then gives up with one
/// error that every save hears at once; a lock freed before the last try lets it start. A lock
/// another process holds is not waited for: the first try gives up.
/// </summary>
public sealed class LockedRootSpec : NodeSpec
{
    private static ActorCkptSettings Tries(int attempts, string startAgainAfter = "0s") => ActorCkptSettings.Create(Akka.Configuration.ConfigurationFactory.ParseString(
        $"actorckpt.planner {{ start-attempts = {attempts}, start-backoff = 10ms, start-again-after = {startAgainAfter} }}"));

    private string HeldLine
    {
        get
        {
            var lockFile = Path.Combine(Path.GetFullPath(Root), CheckpointLayout.CatalogLockFile);
            return $"the checkpoint root '{Path.GetFullPath(Root)}' is held by another checkpointer: '{lockFile}' is locked by pid {Environment.ProcessId} on host {Environment.MachineName}";
        }
    }

    [Fact]
    public async Task A_planner_refused_the_catalog_lock_should_give_up_after_its_tries_with_one_error_that_every_save_hears_at_once()
    {
        using var held = new LocalBlobStore(Root).Lock(CheckpointLayout.CatalogLockFile);
        var store = new LockCountingStore(new LocalBlobStore(Root));
        var log = CreateTestProbe();
        Sys.EventStream.Subscribe(log.Ref, typeof(Warning));
        Sys.EventStream.Subscribe(log.Ref, typeof(Error));

        var planner = Sys.ActorOf(PlannerSupervisorActor.Props(new CheckpointStore(store), Tries(3), "locked-catalog", "no-writers"));
        var settled = await planner.Ask<PlannerStartSettled>(AwaitPlannerStart.Instance, Patience);

        await store.AttemptsAsync(3, Patience);
        Assert.StartsWith($"the checkpoint planner could not start (3 tries): {HeldLine}", settled.GaveUp);
        Assert.StartsWith($"the checkpoint planner could not start (try 1 of 3; next in 0.01 s): {HeldLine}", log.ExpectMsg<Warning>(Patience).Message.ToString());
        Assert.StartsWith($"the checkpoint planner could not start (try 2 of 3; next in 0.02 s): {HeldLine}", log.ExpectMsg<Warning>(Patience).Message.ToString());
        Assert.Equal(settled.GaveUp, log.ExpectMsg<Error>(Patience).Message.ToString());

        // No fourth try, and a save is refused at once with the same line.
        planner.Tell(SubmitLocalPlan.Of(7, new LocalSavePlan(0, 1, Array.Empty<WriteItem>())), TestActor);
        Assert.Equal(new CheckpointAborted(7, settled.GaveUp!), ExpectMsg<CheckpointAborted>(Patience));
        Assert.Equal(3, store.Attempts);
        log.ExpectNoMsg(TimeSpan.Zero);
    }

    [Fact]
    public async Task A_planner_refused_the_lock_by_another_process_should_give_up_at_its_first_try()
    {
        using var held = new LocalBlobStore(Root).Lock(CheckpointLayout.CatalogLockFile);
        // The holder record names another process: this test's lock stands in for that process's.
        var record = Path.Combine(Root, CheckpointLayout.LockHolderFile(CheckpointLayout.CatalogLockFile));
        var other = LockHolder.Parse(await File.ReadAllTextAsync(record))! with { ProcessId = Environment.ProcessId + 1 };
        await File.WriteAllTextAsync(record, other.ToJson());
        var store = new LockCountingStore(new LocalBlobStore(Root));

        var planner = Sys.ActorOf(PlannerSupervisorActor.Props(new CheckpointStore(store), Tries(3), "other-process", "no-writers"));
        var settled = await planner.Ask<PlannerStartSettled>(AwaitPlannerStart.Instance, Patience);

        // Before, it tried three times (five by default, over 3 s), a line each: no try frees another process's lock.
        var lockFile = Path.Combine(Path.GetFullPath(Root), CheckpointLayout.CatalogLockFile);
        Assert.StartsWith($"the checkpoint planner could not start: the checkpoint root '{Path.GetFullPath(Root)}' is held by another checkpointer: '{lockFile}' is locked by pid {other.ProcessId} on host", settled.GaveUp);
        Assert.Equal(1, store.Attempts);
    }

    [Fact]
    public async Task A_planner_that_gave_up_should_try_again_after_the_set_wait_and_start_once_the_lock_is_free()
    {
        var held = new LocalBlobStore(Root).Lock(CheckpointLayout.CatalogLockFile);
        var store = new LockCountingStore(new LocalBlobStore(Root));
        var log = CreateTestProbe();
        Sys.EventStream.Subscribe(log.Ref, typeof(Error));
        Sys.EventStream.Subscribe(log.Ref, typeof(Warning));
        var planner = Sys.ActorOf(PlannerSupervisorActor.Props(new CheckpointStore(store), Tries(2, startAgainAfter: "100ms"), "retried-catalog", "no-writers"));

        var settled = await planner.Ask<PlannerStartSettled>(AwaitPlannerStart.Instance, Patience);
        Assert.StartsWith($"the checkpoint planner could not start (2 tries; it tries again every 0.1 s): {HeldLine}", settled.GaveUp);
        Assert.StartsWith("the checkpoint planner could not start (try 1 of 2;", log.ExpectMsg<Warning>(Patience).Message.ToString());
        Assert.Equal(settled.GaveUp, log.ExpectMsg<Error>(Patience).Message.ToString());
        // Before, it never tried again: the root stayed refused until the process restarted.
        Assert.StartsWith($"the checkpoint planner could not start (3 tries; it tries again every 0.1 s): {HeldLine}", log.ExpectMsg<Warning>(Patience).Message.ToString());
        // Saves across the tries (one every 0.1 s, each with a new stand-in) are each refused at once, none held or lost.
        for (var step = 7; step < 27; step++)
        {
            planner.Tell(SubmitLocalPlan.Of(step, new LocalSavePlan(0, 1, Array.Empty<WriteItem>())), TestActor);
            Assert.StartsWith("the checkpoint planner could not start (", ExpectMsg<CheckpointAborted>(Patience).Reason);
            await Task.Delay(10);
        }

        held.Dispose();

        await AwaitAssertAsync(async () => Assert.Null((await planner.Ask<PlannerStartSettled>(AwaitPlannerStart.Instance, Patience)).GaveUp), Patience, TimeSpan.FromMilliseconds(20));
        Assert.Empty((await planner.Ask<CatalogRead>(new ReadCatalog(), Patience)).Entries);
    }

    [Fact]
    public async Task A_planner_refused_the_catalog_lock_should_start_once_the_lock_is_free_within_its_tries()
    {
        var held = new LocalBlobStore(Root).Lock(CheckpointLayout.CatalogLockFile);
        var store = new LockCountingStore(new LocalBlobStore(Root));
        var planner = Sys.ActorOf(PlannerSupervisorActor.Props(new CheckpointStore(store), Tries(100), "freed-catalog", "no-writers"));
        await store.AttemptsAsync(2, Patience);

        held.Dispose();

        Assert.Null((await planner.Ask<PlannerStartSettled>(AwaitPlannerStart.Instance, Patience)).GaveUp);
        Assert.Empty((await planner.Ask<CatalogRead>(new ReadCatalog(), Patience)).Entries);
    }
}

using Akka.Actor;
using Akka.Event;

namespace ActorCkpt.Actors.Tests;

/// <summary>
/// A planner whose root another holder has locked (a second job on the same root): it logs one line
/// naming the lock and its holder, not one per retry, and starts once the lock is free.
/// </summary>
public sealed class LockedRootSpec : NodeSpec
{
    [Fact]
    public async Task A_planner_refused_the_catalog_lock_should_log_its_holder_once_and_start_once_the_lock_is_free()
    {
        var held = new LocalBlobStore(Root).Lock(CheckpointLayout.CatalogLockFile);
        var store = new LockCountingStore(new LocalBlobStore(Root));
        var errors = CreateTestProbe();
        Sys.EventStream.Subscribe(errors.Ref, typeof(Error));

        var planner = Sys.ActorOf(PlannerActor.SupervisedProps(new CheckpointStore(store), ActorCkptSettings.Create(Sys), "locked-catalog", "no-writers"));
        // The supervisor logs a failure before it schedules the retry: after the fourth attempt, three refusals were logged or left out.
        await store.AttemptsAsync(4, Patience);

        var logged = errors.ExpectMsg<Error>(Patience).Message.ToString();
        var lockFile = Path.Combine(Path.GetFullPath(Root), CheckpointLayout.CatalogLockFile);
        Assert.StartsWith($"the checkpoint root '{Path.GetFullPath(Root)}' is held by another checkpointer: '{lockFile}' is locked by pid {Environment.ProcessId} on host {Environment.MachineName}", logged);
        errors.ExpectNoMsg(TimeSpan.Zero);

        held.Dispose();
        await AwaitAssertAsync(async () => Assert.Empty((await planner.Ask<CatalogRead>(new ReadCatalog(), TimeSpan.FromSeconds(1))).Entries), Patience);
        // However many refusals came before the lock was free, the one line above was all that was logged.
        errors.ExpectNoMsg(TimeSpan.Zero);
    }
}

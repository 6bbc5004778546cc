using Akka.Actor;
using Akka.Event;

namespace ActorCkpt.Actors.Tests;

/// <summary>
/// A planner that fails again each time it runs (a catalog its reconciliation cannot settle, a bug)
/// is restarted in place a bounded number of times, then stopped, and each stop is a failed try:
/// after the tries the stand-in refuses saves naming the failure, and no planner starts again.
/// </summary>
public sealed class PlannerCrashLoopSpec : NodeSpec
{
    private const string Bug = "the planner's bug";

    [Fact]
    public async Task A_planner_that_fails_whenever_it_runs_should_be_restarted_a_bounded_number_of_times_then_give_up_naming_the_failure()
    {
        var runs = new RunCount();
        var log = CreateTestProbe();
        Sys.EventStream.Subscribe(log.Ref, typeof(Error));
        var settings = ActorCkptSettings.Create(Akka.Configuration.ConfigurationFactory.ParseString("actorckpt.planner { start-attempts = 2, start-backoff = 10ms }"));
        var planner = Sys.ActorOf(Props.Create(() => new PlannerSupervisorActor(Props.Create(() => new FailingPlanner(runs)), new CheckpointStore(new LocalBlobStore(Root)), settings)));

        var expected = $"the checkpoint planner could not start (2 tries): it failed {PlannerSupervisorActor.MaxRestarts + 1} times within 60 s, last with InvalidOperationException: {Bug}";
        var gaveUp = log.FishForMessage<Error>(e => e.Message.ToString()!.StartsWith("the checkpoint planner could not start", StringComparison.Ordinal), Patience);
        Assert.Equal(expected, gaveUp.Message.ToString());

        // Each try ran the planner once and restarted it the bound's number of times; a save is refused at once with the line.
        planner.Tell(SubmitLocalPlan.Of(7, new LocalSavePlan(0, 1, Array.Empty<WriteItem>())), TestActor);
        Assert.Equal(new CheckpointAborted(7, expected), ExpectMsg<CheckpointAborted>(Patience));
        Assert.Equal(2 * (PlannerSupervisorActor.MaxRestarts + 1), runs.Value);
        Assert.Equal(expected, (await planner.Ask<PlannerStartSettled>(AwaitPlannerStart.Instance, Patience)).GaveUp);
        Assert.Equal(2 * (PlannerSupervisorActor.MaxRestarts + 1), runs.Value);
    }

    [Fact]
    public async Task A_planner_restarted_in_place_should_tell_the_ranks_of_its_rounds_in_flight_that_their_saves_ended()
    {
        var planner = Sys.ActorOf(PlannerSupervisorActor.Props(new CheckpointStore(new LocalBlobStore(Root)), ActorCkptSettings.Create(Sys), "restarted", "no-writers"));
        Assert.Null((await planner.Ask<PlannerStartSettled>(AwaitPlannerStart.Instance, Patience)).GaveUp);
        var rank0 = CreateTestProbe();
        planner.Tell(SubmitLocalPlan.Of(3, new LocalSavePlan(0, 2, Array.Empty<WriteItem>())), rank0);
        rank0.ExpectMsg<LocalPlanAccepted>(Patience);

        // A message the planner fails on (a bug's stand-in): it restarts in place, its round of step 3 gone with the old instance.
        planner.Tell(new SubmitLocalPlan(3, null!, 0, SaveTier.Policy, Guid.NewGuid()), CreateTestProbe());

        // Before: rank 0, which watches the planner and saw no stop, waited out its verdict deadline, even when cancelled.
        var ended = rank0.ExpectMsg<CheckpointAborted>(Patience);
        Assert.Equal(3, ended.Step);
        Assert.StartsWith("the planner failed and restarted (NullReferenceException: ", ended.Reason);
    }

    [Fact]
    public async Task A_request_that_reached_a_planner_as_it_stopped_should_be_answered_by_the_next_one()
    {
        var runs = new RunCount();
        using var gate = new ManualResetEventSlim();
        var settings = ActorCkptSettings.Create(Akka.Configuration.ConfigurationFactory.ParseString("actorckpt.planner { start-attempts = 3, start-backoff = 10ms }"));
        var planner = Sys.ActorOf(Props.Create(() => new PlannerSupervisorActor(Props.Create(() => new StoppingPlanner(runs, gate)), new CheckpointStore(new LocalBlobStore(Root)), settings)));
        Assert.Null((await planner.Ask<PlannerStartSettled>(AwaitPlannerStart.Instance, Patience)).GaveUp);

        // The first planner is held in the write that fails it; a catalog request is forwarded to it meanwhile
        // (the supervisor has answered the message sent after it), then the planner stops, as one whose journal failed does.
        planner.Tell("fail the journal");
        var read = planner.Ask<CatalogRead>(new ReadCatalog(), Patience);
        await planner.Ask<PlannerStartSettled>(AwaitPlannerStart.Instance, Patience);
        gate.Set();

        // Before: the request went to dead letters with the first planner, and the asker waited out its timeout.
        Assert.Equal(2, (await read).Entries.Single().Step);
        Assert.Equal(2, runs.Value);
    }

    private sealed class RunCount
    {
        private int _value;

        public int Value => Volatile.Read(ref _value);

        public void Add() => Interlocked.Increment(ref _value);
    }

    /// <summary>
    /// Says it started; the first one stops on a string once <c>gate</c> is set, unanswered requests still in its mailbox;
    /// each answers the catalog with one entry, its run's number as the step.
    /// </summary>
    private sealed class StoppingPlanner : ReceiveActor
    {
        public StoppingPlanner(RunCount runs, ManualResetEventSlim gate)
        {
            runs.Add();
            var run = runs.Value;
            Receive<string>(_ =>
            {
                gate.Wait(Patience);
                Context.Stop(Self);
            });
            Receive<ReadCatalog>(_ => Sender.Tell(new CatalogRead([new CatalogEntry(run, CheckpointStatus.Committed, Guid.Empty, 1, "", null, null, 0, 0, null, null, 1)])));
        }

        protected override void PreStart() => Context.Parent.Tell(PlannerStarted.Instance);
    }

    /// <summary>Says it started, as a planner does once its catalog is settled, then fails on its first message.</summary>
    private sealed class FailingPlanner : ReceiveActor
    {
        public FailingPlanner(RunCount runs)
        {
            runs.Add();
            Receive<string>(_ => throw new InvalidOperationException(Bug));
        }

        protected override void PreStart()
        {
            Context.Parent.Tell(PlannerStarted.Instance);
            Self.Tell("fail");
        }
    }
}

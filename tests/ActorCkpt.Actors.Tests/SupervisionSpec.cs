
namespace ActorCkpt.Actors.Tests;

public class SupervisionSpec : NodeSpec
{
    private static readonly IReadOnlyList<(string Key, DType DType, Layout Layout, long Rows, long Cols)> Model =
        TestStates.Model(new[] { DType.Float32, DType.Int32 }, new[] { Layout.Rows, Layout.Replicated, Layout.Columns });

    private async Task AssertLoadsBitExact(CheckpointNode node, long step, int seed)
    {
        var targets = TestStates.Empty(Model, 3);
        var results = await LoadAllAsync(node, targets);
        Assert.All(results, r => Assert.Equal(step, r.Step));
        Assert.Empty(TestStates.Differences(Model, targets, seed));
        TestStates.Dispose(targets);
    }

    [Fact]
    public async Task Failed_writes_should_restart_the_writer_and_be_retried_until_the_save_commits()
    {
        var faults = FaultPolicy.FailRange(1, 2);
        var node = StartNode(faults);
        var states = TestStates.Build(Model, 4, seed: 1);

        // Each failure crashes a writer, which its supervisor restarts: the writer's warning says so,
        // once a failure, and nothing is logged as an error (a retry that succeeds is no failure).
        var errors = CreateTestProbe();
        Sys.EventStream.Subscribe(errors.Ref, typeof(Akka.Event.Error));
        await EventFilter.Warning(contains: "; retrying").ExpectAsync(2, async () => await SaveAllAsync(node, 1, states));
        errors.ExpectNoMsg(TimeSpan.Zero);

        var files = node.Store.ReadMetadata(1).Files.Count;
        Assert.Equal(files + 2, faults.WritesSeen);
        await AssertLoadsBitExact(node, 1, seed: 1);
        TestStates.Dispose(states);
    }

    [Fact]
    public async Task Failing_the_kth_write_should_be_retried_and_commit()
    {
        var faults = FaultPolicy.FailNth(3);
        var node = StartNode(faults);
        var states = TestStates.Build(Model, 4, seed: 2);

        await SaveAllAsync(node, 1, states);

        Assert.Equal(node.Store.ReadMetadata(1).Files.Count + 1, faults.WritesSeen);
        await AssertLoadsBitExact(node, 1, seed: 2);
        TestStates.Dispose(states);
    }

    [Fact]
    public async Task Random_write_failures_should_be_retried_and_commit()
    {
        var faults = FaultPolicy.FailWithProbability(0.3, seed: 11);
        var node = StartNode(faults, ActorCkptSettings.Create(Sys) with { MaxRetries = 12 });
        var states = TestStates.Build(Model, 4, seed: 3);

        await SaveAllAsync(node, 1, states);

        // Each failed write is retried once more, whichever file it was, so the writes end with the
        // files' count-th success of the seeded sequence: replay it.
        var files = node.Store.ReadMetadata(1).Files.Count;
        var sequence = FaultPolicy.FailWithProbability(0.3, seed: 11);
        int writes = 0, successes = 0;
        while (successes < files)
        {
            writes++;
            if (!sequence.ShouldFail("x.safetensors", out _)) successes++;
        }
        Assert.True(writes > files, "seed 11 fails none of the first writes: the spec would not retry");
        Assert.Equal(writes, faults.WritesSeen);
        await AssertLoadsBitExact(node, 1, seed: 3);
        TestStates.Dispose(states);
    }

    [Fact]
    public async Task Exhausted_retries_should_fail_the_save_naming_file_and_cause_and_keep_the_previous_checkpoint()
    {
        // Every write of step 2 fails; step 1 is written untouched.
        var node = StartNode(FaultPolicy.FailAlways(CheckpointLayout.StepDirectory(2) + "/*"), ActorCkptSettings.Create(Sys) with { MaxRetries = 2 });
        var first = TestStates.Build(Model, 4, seed: 4);
        await SaveAllAsync(node, 1, first);

        var second = TestStates.Build(Model, 4, seed: 5);
        var handles = second.Select(s => node.Save(2, s)).ToArray();
        var e = await Assert.ThrowsAsync<CheckpointFailedException>(() => handles[0].Committed.WaitAsync(Patience));

        Assert.Matches(@"'r\d{5}-\d{3}-[0-9a-f]{8}\.safetensors' after 3 attempts: InjectedFaultException: injected fault", e.Message);
        foreach (var h in handles) await Assert.ThrowsAsync<CheckpointFailedException>(() => h.Committed.WaitAsync(Patience));
        Assert.False(node.Store.IsCommitted(2));
        Assert.Equal(new long[] { 1 }, node.Store.CommittedSteps());
        // The aborted save's files are removed once every rank has reported.
        AwaitCondition(() => !Directory.Exists(Path.Combine(Root, CheckpointLayout.StepDirectory(2))), Patience);
        await AssertLoadsBitExact(node, 1, seed: 4);
        TestStates.Dispose(first.Concat(second));
    }

    [Fact]
    public async Task Saving_the_same_step_again_right_after_a_failed_save_should_succeed()
    {
        // Rows layout: each of the 4 ranks writes one file; with one retry that is 8 attempts, all failing.
        var model = TestStates.Model(new[] { DType.Float32 }, new[] { Layout.Rows });
        var faults = FaultPolicy.FailRange(1, 8);
        var node = StartNode(faults, ActorCkptSettings.Create(Sys) with { MaxRetries = 1, Planning = new SavePlanSettings(FilesPerRank: 1) });
        var states = TestStates.Build(model, 4, seed: 6);
        var failed = states.Select(s => node.Save(1, s)).ToArray();
        await Assert.ThrowsAsync<CheckpointFailedException>(() => failed[0].Committed.WaitAsync(Patience));

        await SaveAllAsync(node, 1, states);

        Assert.Equal(8 + 4, faults.WritesSeen);
        var targets = TestStates.Empty(model, 2);
        await LoadAllAsync(node, targets);
        Assert.Empty(TestStates.Differences(model, targets, seed: 6));
        TestStates.Dispose(states.Concat(targets));
    }
}

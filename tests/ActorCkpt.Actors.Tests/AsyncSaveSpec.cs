
namespace ActorCkpt.Actors.Tests;

public class AsyncSaveSpec : NodeSpec
{
    private static readonly IReadOnlyList<(string Key, DType DType, Layout Layout, long Rows, long Cols)> Model =
        TestStates.Model(new[] { DType.Float32, DType.Int64 }, new[] { Layout.Rows, Layout.Replicated });

    private CheckpointNode StartNode(string config, GatedStore.Gate? gate = null)
    {
        var settings = ActorCkptSettings.Create(Akka.Configuration.ConfigurationFactory.ParseString(config).WithFallback(Sys.Settings.Config));
        IBlobStore blobs = new LocalBlobStore(Root);
        if (gate is not null) blobs = new GatedStore(blobs, gate, GatedStore.Kind.Writes);
        return CheckpointNode.Start(Sys, blobs, settings, "async");
    }

    /// <summary>Bytes the staging buffers of one save of <paramref name="states"/> take.</summary>
    private static long StagingBytes(IEnumerable<RankState> states) =>
        states.SelectMany(s => s.Tensors).Sum(t => (long)StagingPool.CapacityFor(t.Box.Volume * DTypes.ElementSize(t.DType)));

    [Fact]
    public async Task Fifty_saves_in_flight_two_at_a_time_should_reuse_the_same_buffers_within_the_budget()
    {
        var states = TestStates.Build(Model, 2, seed: 1);
        var budget = 2 * StagingBytes(states);
        var node = StartNode($"actorckpt.async.max-in-flight = 2\nactorckpt.staging.budget = {budget}\nactorckpt.retention.keep-last = 2");
        var allocations = new List<int>();

        for (var step = 1; step <= 50; step++)
        {
            // The training loop waits for Staged only; commits happen behind it.
            var handles = states.Select(s => node.Save(step, s)).ToArray();
            await Task.WhenAll(handles.Select(h => h.Staged)).WaitAsync(Patience);
            allocations.Add(node.StagingPool.Allocations);
            Assert.InRange(node.StagingPool.AllocatedBytes, 1, budget);
        }
        var outcomes = await node.FinalizeAsync(blocking: true).WaitAsync(Patience);

        Assert.Equal(100, outcomes.Count);
        Assert.All(outcomes, o => Assert.Equal(SaveStatus.Committed, o.Status));
        // Buffers for two saves in flight at most, allocated during the first two saves, then only reused.
        Assert.Equal(allocations[1], allocations[^1]);
        Assert.True(allocations[^1] <= 2 * states.Sum(s => s.Tensors.Count), $"{allocations[^1]} buffers allocated");
        Assert.Empty(await node.FinalizeAsync(blocking: false));
        await AssertLoadsBitExactAsync(node, Model, ranks: 3, step: null, seed: 1, saved: states);
    }

    [Fact]
    public async Task A_second_save_of_a_step_a_rank_has_in_flight_should_queue_behind_the_first_not_beside_it()
    {
        var states = TestStates.Build(Model, 2, seed: 3);
        var gate = new GatedStore.Gate();
        var node = StartNode("actorckpt.async.max-in-flight = 2", gate);

        var first = states.Select(s => node.Save(7, s)).ToArray();
        await gate.Entered.WaitAsync(Patience);
        // Before, it went to the rank's other shard actor at once, and the planner took its plan as
        // the first one's sent again: one of the two saves committed and the other waited for a
        // verdict until its deadline (11 minutes). Behind the first, it meets a committed step.
        var again = states.Select(s => node.Save(7, s)).ToArray();
        gate.Open();
        await Task.WhenAll(first.Select(h => h.Committed)).WaitAsync(Patience);
        var refused = await Assert.ThrowsAsync<CheckpointFailedException>(() => again[0].Committed.WaitAsync(Patience));
        Assert.Contains("step 7 is already committed", refused.Reason);

        await AssertLoadsBitExactAsync(node, Model, ranks: 2, step: 7, seed: 3, saved: states);
    }

    [Fact]
    public async Task A_progress_handler_that_throws_should_leave_the_save_the_other_handlers_and_the_next_save_unharmed()
    {
        var states = TestStates.Build(Model, 1, seed: 4);
        var gate = new GatedStore.Gate();
        var node = StartNode($"actorckpt.staging.budget = {StagingBytes(states)}", gate);
        var reports = 0;

        // Before: the exception restarted the shard actor mid-save; the save failed ("the shard actor of
        // rank 0 stopped"), its step stayed in flight until the write deadline, and its buffers never came back.
        await EventFilter.Warning(contains: "Rank 0: a Progressed handler of the save of step 1 threw (InvalidOperationException: a handler's bug)").ExpectOneAsync(async () =>
        {
            var handle = node.Save(1, states[0]);
            handle.Progressed += _ => throw new InvalidOperationException("a handler's bug");
            handle.Progressed += _ => Interlocked.Increment(ref reports);
            await gate.Entered.WaitAsync(Patience);
            gate.Open();
            await handle.Committed.WaitAsync(Patience);
        });

        Assert.True(Volatile.Read(ref reports) >= 1);
        // Its buffers came back: the next save fits the same budget.
        await node.Save(2, states[0]).Committed.WaitAsync(Patience);
        await AssertLoadsBitExactAsync(node, Model, ranks: 1, step: 1, seed: 4, saved: states);
    }

    [Fact]
    public async Task A_tensor_disposed_before_it_is_staged_should_fail_the_save_naming_its_key_and_the_next_save_work()
    {
        var states = TestStates.Build(Model, 1, seed: 6);
        var node = StartNode("");
        using var kept = TorchSharp.torch.ones(2);
        var gone = TorchSharp.torch.zeros(4);
        var broken = new RankState(0, 1).AddReplicated("kept", kept).AddReplicated("gone", gone);
        gone.Dispose();

        // Before: a bare InvalidOperationException, "Tensor invalid -- empty handle", naming no key.
        var e = await Assert.ThrowsAsync<ActorCkptException>(() => node.Save(1, broken).Committed.WaitAsync(Patience));
        Assert.Equal("'gone' could not be read: Tensor invalid -- empty handle.", e.Message);

        await node.Save(1, states[0]).Committed.WaitAsync(Patience);
        await AssertLoadsBitExactAsync(node, Model, ranks: 1, step: 1, seed: 6, saved: states);
    }

    [Fact]
    public async Task A_rank_whose_state_cannot_be_read_should_abort_the_save_on_every_rank_at_once_saying_why()
    {
        var states = TestStates.Build(Model, 2, seed: 8);
        // A plan deadline far past the test's patience: the other rank must hear of the failure, not of a missing plan.
        var node = StartNode("actorckpt.planner.plan-timeout = 1h");
        var gone = TorchSharp.torch.zeros(4);
        var broken = new RankState(0, 2).AddReplicated("gone", gone);
        gone.Dispose();

        var failed = node.Save(3, broken);
        var other = node.Save(3, states[1]);

        var e = await Assert.ThrowsAsync<ActorCkptException>(() => failed.Committed.WaitAsync(Patience));
        Assert.Equal("'gone' could not be read: Tensor invalid -- empty handle.", e.Message);
        // Before, rank 1 waited out the plan deadline and then heard that rank 0 "did not send its plan".
        var aborted = await Assert.ThrowsAsync<CheckpointFailedException>(() => other.Committed.WaitAsync(Patience));
        Assert.Equal("save of step 3 failed: rank 0 could not stage its state: 'gone' could not be read: Tensor invalid -- empty handle.", aborted.Message);

        // Nothing of step 3 stays in the way: both ranks save it again.
        await Task.WhenAll(states.Select(s => node.Save(3, s).Committed)).WaitAsync(Patience);
        await AssertLoadsBitExactAsync(node, Model, ranks: 2, step: 3, seed: 8, saved: states);
    }

    [Fact]
    public async Task A_rank_whose_actor_stops_while_its_save_waits_for_buffers_should_abort_the_save_on_every_rank_at_once()
    {
        var states = TestStates.Build(Model, 2, seed: 9);
        var node = StartNode("actorckpt.planner.plan-timeout = 1h");
        // Rank 0 has a shard actor of its own, whose staging budget another step holds whole.
        var budget = StagingBytes(states.Take(1));
        using var pool = new StagingPool(budget);
        var held = await pool.RentAllAsync(new[] { budget }, step: 1);
        var rank0 = Sys.ActorOf(ShardActor.Props(0, node.Planner, node.Store, node.Settings, pool));
        var own = new SaveHandle(3, 0);
        rank0.Tell(new SaveShard(3, states[0], own), Akka.Actor.ActorRefs.NoSender);
        var other = node.Save(3, states[1]);
        AwaitCondition(() => pool.Waiting > 0, Patience);

        Sys.Stop(rank0);

        var e = await Assert.ThrowsAsync<ActorCkptException>(() => own.Committed.WaitAsync(Patience));
        Assert.Equal("the shard actor of rank 0 stopped before step 3 was staged", e.Message);
        // Before, rank 1 waited out the plan deadline (here an hour) and heard that rank 0 "did not send its plan".
        var aborted = await Assert.ThrowsAsync<CheckpointFailedException>(() => other.Committed.WaitAsync(Patience));
        Assert.Equal("save of step 3 failed: rank 0 could not stage its state: the shard actor of rank 0 stopped before step 3 was staged", aborted.Message);
        // Its request for buffers was withdrawn: the whole budget is there for the next save.
        Assert.Equal(0, pool.Waiting);
        pool.Return(held);
        pool.Return(await pool.RentAllAsync(new[] { budget }, step: 4).WaitAsync(Patience));

        await Task.WhenAll(states.Select(s => node.Save(3, s).Committed)).WaitAsync(Patience);
        await AssertLoadsBitExactAsync(node, Model, ranks: 2, step: 3, seed: 9, saved: states);
    }

    [Fact]
    public async Task A_tensor_disposed_while_its_save_waits_for_buffers_should_still_be_saved_whole()
    {
        var states = TestStates.Build(Model, 1, seed: 7);
        var gate = new GatedStore.Gate();
        var node = StartNode($"actorckpt.async.max-in-flight = 2\nactorckpt.staging.budget = {StagingBytes(states)}", gate);
        var first = node.Save(1, states[0]);
        await gate.Entered.WaitAsync(Patience);
        var late = TorchSharp.torch.arange(8, dtype: TorchSharp.torch.float32);
        var second = node.Save(2, new RankState(0, 1).AddReplicated("late", late));
        // Described, then waiting for the buffers step 1 holds: the copy comes after the caller's handle is gone.
        AwaitCondition(() => node.StagingPool.Waiting > 0, Patience);
        late.Dispose();
        gate.Open();

        await first.Committed.WaitAsync(Patience);
        // Before: "'late' could not be copied to host memory: Tensor invalid -- empty handle." The save holds the memory it reads.
        await second.Committed.WaitAsync(Patience);
        using var target = TorchSharp.torch.zeros(8);
        await node.LoadAsync(new RankState(0, 1).AddReplicated("late", target), 2).WaitAsync(Patience);
        Assert.Equal(Enumerable.Range(0, 8).Select(i => (float)i), target.data<float>().ToArray());
        TestStates.Dispose(states);
    }

    [Fact]
    public async Task A_save_that_does_not_fit_the_budget_should_wait_for_buffers_instead_of_allocating_more()
    {
        var states = TestStates.Build(Model, 2, seed: 2);
        var gate = new GatedStore.Gate();
        var node = StartNode($"actorckpt.async.max-in-flight = 2\nactorckpt.staging.budget = {StagingBytes(states)}", gate);

        var first = states.Select(s => node.Save(1, s)).ToArray();
        await gate.Entered.WaitAsync(Patience);
        var allocated = node.StagingPool.Allocations;
        // Step 1 holds every byte of the budget until its files are written.
        var second = states.Select(s => node.Save(2, s)).ToArray();
        AwaitCondition(() => node.StagingPool.Waiting > 0, Patience);
        Assert.All(second, h => Assert.False(h.Staged.IsCompleted));

        gate.Open();
        await Task.WhenAll(first.Concat(second).Select(h => h.Committed)).WaitAsync(Patience);
        Assert.Equal(allocated, node.StagingPool.Allocations);
        Assert.Equal(StagingBytes(states), node.StagingPool.AllocatedBytes);
        TestStates.Dispose(states);
    }

    [Fact]
    public async Task Buffers_abandoned_at_the_deadline_should_go_back_to_the_budget_once_the_late_writes_end()
    {
        var states = TestStates.Build(Model, 2, seed: 5);
        var gate = new GatedStore.Gate();
        // A budget of one save, and a write deadline the held writes miss: the round aborts, and a
        // write timeout after that verdict the ranks abandon the buffers the writes still hold.
        var node = StartNode($"actorckpt.async.max-in-flight = 2\nactorckpt.staging.budget = {StagingBytes(states)}\nactorckpt.planner.write-timeout = 1s", gate);
        var first = states.Select(s => node.Save(1, s)).ToArray();
        await gate.Entered.WaitAsync(Patience);
        await EventFilter.Error(contains: "abandoning their staging buffers").ExpectAsync(2, async () =>
        {
            foreach (var h in first) await Assert.ThrowsAsync<CheckpointFailedException>(() => h.Committed.WaitAsync(Patience));
        }, Patience);

        // Step 1's buffers fill the budget: step 2 waits for them.
        var second = states.Select(s => node.Save(2, s)).ToArray();
        AwaitCondition(() => node.StagingPool.Waiting > 0, Patience);
        // The held writes end late, and with the last of them the buffers go back: step 2 gets them.
        // Before, they stayed counted against the budget for good and step 2 failed waiting.
        gate.Open();
        await Task.WhenAll(second.Select(h => h.Committed)).WaitAsync(Patience);
        Assert.Equal(new long[] { 2 }, node.Store.CommittedSteps());
        Assert.Equal(StagingBytes(states), node.StagingPool.AllocatedBytes);
        TestStates.Dispose(states);
    }

    [Fact]
    public async Task A_state_larger_than_the_whole_budget_should_fail_at_once_naming_the_sizes()
    {
        var states = TestStates.Build(Model, 1, seed: 3);
        var node = StartNode("actorckpt.staging.budget = 64KiB");

        var handle = node.Save(1, states[0]);
        var e = await Assert.ThrowsAsync<StagingBudgetException>(() => handle.Staged.WaitAsync(Patience));

        Assert.Contains("actorckpt.staging.budget = 65536", e.Message);
        Assert.Equal(StagingBytes(states), e.Needed);
        TestStates.Dispose(states);
    }

    [Fact]
    public async Task With_the_skip_policy_a_save_arriving_while_the_queue_is_full_should_be_skipped_saying_why()
    {
        var states = TestStates.Build(Model, 2, seed: 4);
        var gate = new GatedStore.Gate();
        var node = StartNode("actorckpt.async.when-busy = skip", gate);
        var first = states.Select(s => node.Save(1, s)).ToArray();
        await gate.Entered.WaitAsync(Patience);

        var second = await EventFilter.Warning(contains: "Skipped the save of step 2").ExpectAsync(2, () =>
            Task.FromResult(states.Select(s => node.Save(2, s)).ToArray()));

        Assert.All(second, h => Assert.True(h.Staged.IsCompletedSuccessfully));
        var skipped = await Assert.ThrowsAsync<SaveSkippedException>(() => second[0].Committed);
        Assert.Contains("already has 1 saves in flight (steps 1", skipped.Message);
        gate.Open();
        var outcomes = await node.FinalizeAsync(blocking: true).WaitAsync(Patience);
        Assert.Equal(new[] { SaveStatus.Committed, SaveStatus.Committed, SaveStatus.Skipped, SaveStatus.Skipped }, outcomes.OrderBy(o => o.Step).Select(o => o.Status));
        Assert.Equal(new long[] { 1 }, node.Store.CommittedSteps());
        TestStates.Dispose(states);
    }

    [Fact]
    public async Task A_save_one_rank_skips_should_end_the_other_ranks_saves_of_that_step_at_once_naming_the_skip()
    {
        var states = TestStates.Build(Model, 2, seed: 6);
        // Rank 0's save of step 1 waits for rank 1's plan, which never comes (it would until a plan deadline of an hour).
        var node = StartNode("actorckpt.async.when-busy = skip\nactorckpt.planner.plan-timeout = 1h");
        var stuck = node.Save(1, states[0]);
        var skipped = node.Save(2, states[0]);
        await Assert.ThrowsAsync<SaveSkippedException>(() => skipped.Committed.WaitAsync(Patience));

        // Before: rank 1's save of step 2 held its only slot until the plan deadline, and every later save of it was skipped.
        var other = await Assert.ThrowsAsync<CheckpointFailedException>(() => node.Save(2, states[1]).Committed.WaitAsync(Patience));
        Assert.Contains("rank 0 already has 1 saves in flight (steps 1", other.Message);
        Assert.False(stuck.IsFinished);
        TestStates.Dispose(states);
    }

    [Fact]
    public async Task A_save_cancelled_while_queued_should_keep_its_slot_busy_until_its_turn_so_the_next_save_is_skipped()
    {
        var states = TestStates.Build(Model, 2, seed: 7);
        // Rank 0's saves wait for rank 1's plans, which never come: both of its slots stay busy.
        var node = StartNode("actorckpt.async.when-busy = skip\nactorckpt.async.max-in-flight = 2\nactorckpt.planner.plan-timeout = 1h");
        node.Save(5, states[0]);
        node.Save(6, states[0]);
        using var cancel = new CancellationTokenSource();
        // A retry of step 5 queues behind its first save, in the same slot; cancelled there, its caller hears at once.
        var retry = node.Save(5, states[0], cancellation: cancel.Token);
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => retry.Committed.WaitAsync(Patience));

        // Before: the slot looked free (its last save had ended), so step 7 queued behind the busy actor until the plan deadline.
        var next = node.Save(7, states[0]);
        var skipped = await Assert.ThrowsAsync<SaveSkippedException>(() => next.Committed.WaitAsync(Patience));
        Assert.Contains("rank 0 already has 2 saves in flight", skipped.Message);
        TestStates.Dispose(states);
    }

    [Fact]
    public async Task Is_the_queue_empty_should_get_the_same_answer_on_every_rank_once_all_have_asked()
    {
        var states = TestStates.Build(Model, 2, seed: 5);
        var gate = new GatedStore.Gate();
        var node = StartNode("", gate);
        var saves = states.Select(s => node.Save(1, s)).ToArray();
        await gate.Entered.WaitAsync(Patience);

        var rank0 = node.IsQueueEmptyAsync(0, 2, Patience);
        Assert.False(rank0.IsCompleted);
        var rank1 = node.IsQueueEmptyAsync(1, 2, Patience);
        Assert.Equal(new[] { false, false }, await Task.WhenAll(rank0, rank1).WaitAsync(Patience));

        gate.Open();
        await Task.WhenAll(saves.Select(h => h.Committed)).WaitAsync(Patience);
        Assert.Equal(new[] { true, true }, await Task.WhenAll(node.IsQueueEmptyAsync(0, 2, Patience), node.IsQueueEmptyAsync(1, 2, Patience)).WaitAsync(Patience));
        TestStates.Dispose(states);
    }

    [Fact]
    public async Task A_rank_that_gave_up_on_the_queue_question_should_name_the_missing_ranks_and_stay_in_step_with_the_others()
    {
        var states = TestStates.Build(Model, 2, seed: 6);
        var node = StartNode("");

        // Rank 0 asks alone: rank 1 is not there to ask.
        var alone = await Assert.ThrowsAsync<TimeoutException>(() => node.IsQueueEmptyAsync(0, 2, TimeSpan.FromMilliseconds(300)));
        Assert.Equal("rank 0 asked whether every save queue is empty, and within 00:00:00.3000000 ranks 1 of 2 did not ask", alone.Message);
        // And once more, given up by its caller.
        using (var cancel = new CancellationTokenSource())
        {
            var given = node.IsQueueEmptyAsync(0, 2, Patience, cancel.Token);
            cancel.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => given).WaitAsync(Patience);
        }

        // Rank 0 has a save in flight now (waiting for rank 1's plan). Before, its next question was round 2
        // while rank 1's first was round 1: rank 1 got the answer of rank 0's stale "empty" vote (true), and rank 0 timed out.
        var save = node.Save(1, states[0]);
        Assert.Equal(new[] { false, false }, await Task.WhenAll(node.IsQueueEmptyAsync(0, 2, Patience), node.IsQueueEmptyAsync(1, 2, Patience)).WaitAsync(Patience));

        Assert.Throws<ArgumentOutOfRangeException>(() => node.IsQueueEmptyAsync(7, 2, Patience).GetAwaiter().GetResult());
        Assert.Throws<ArgumentOutOfRangeException>(() => node.IsQueueEmptyAsync(0, 0, Patience).GetAwaiter().GetResult());
        // A zero timeout is Akka's "none": the question would never end.
        Assert.Throws<ArgumentOutOfRangeException>(() => node.IsQueueEmptyAsync(0, 2, TimeSpan.Zero).GetAwaiter().GetResult());
        // Longer than a timer takes: before, Task.Delay's "Specified argument was out of the range of valid values. (Parameter 'delay')".
        var tooLong = Assert.Throws<ArgumentOutOfRangeException>(() => node.IsQueueEmptyAsync(0, 2, TimeSpan.MaxValue).GetAwaiter().GetResult());
        Assert.Equal("timeout", tooLong.ParamName);
        Assert.Equal($"timeout {TimeSpan.MaxValue}: a positive time of at most 24.20:31:23.6460000, or Timeout.InfiniteTimeSpan (Parameter 'timeout')", tooLong.Message);
        // Two questions of one rank at once would leave it a round ahead of the others for good.
        var pending = node.IsQueueEmptyAsync(0, 2, Patience);
        var twice = Assert.Throws<InvalidOperationException>(() => node.IsQueueEmptyAsync(0, 2, Patience).GetAwaiter().GetResult());
        Assert.StartsWith("rank 0 is already asking", twice.Message);
        Assert.True(await node.IsQueueEmptyAsync(1, 2, Patience).WaitAsync(Patience) == await pending.WaitAsync(Patience));
        // Ranks that disagree on the world's size: before, the round counted to the first size given and answered.
        var asked = node.IsQueueEmptyAsync(0, 2, Patience);
        var mismatch = await Assert.ThrowsAsync<ArgumentException>(() => node.IsQueueEmptyAsync(1, 3, Patience)).WaitAsync(Patience);
        Assert.StartsWith("rank 1 asked whether every save queue is empty in a world of 3 ranks, and rank(s) 0 in one of 2", mismatch.Message);
        Assert.Equal(new[] { false, false }, await Task.WhenAll(asked, node.IsQueueEmptyAsync(1, 2, Patience)).WaitAsync(Patience));
        await Task.WhenAll(save.Committed, node.Save(1, states[1]).Committed).WaitAsync(Patience);
        TestStates.Dispose(states);
    }
}

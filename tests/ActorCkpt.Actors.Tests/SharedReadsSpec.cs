using Akka.Configuration;

namespace ActorCkpt.Actors.Tests;

/// <summary>
/// Ranks of one node loading the same step share their reads (<see cref="SharedReads"/>): a range
/// several need is read from storage once. The loads are held at a gate until every rank has joined,
/// so what is shared does not depend on timing.
/// </summary>
public class SharedReadsSpec : NodeSpec
{
    private static readonly IReadOnlyList<(string Key, DType DType, Layout Layout, long Rows, long Cols)> Replicated =
        TestStates.Model(new[] { DType.Float32, DType.BFloat16, DType.Int64, DType.UInt8, DType.Bool }, new[] { Layout.Replicated });

    private static readonly IReadOnlyList<(string Key, DType DType, Layout Layout, long Rows, long Cols)> Mixed =
        TestStates.Model(new[] { DType.Float32, DType.Int64, DType.Float16 }, new[] { Layout.Replicated, Layout.Rows, Layout.Columns, Layout.UnevenWithEmpty });

    private int _nodes;

    private (CheckpointNode Node, CountingReadStore Store, GatedStore.Gate Gate) StartCounted(CountingReadStore.Hold hold, long? budget = null)
    {
        var gate = new GatedStore.Gate();
        var store = new CountingReadStore(new LocalBlobStore(Root), gate, hold);
        var settings = ActorCkptSettings.Create(Sys);
        if (budget is { } b) settings = settings with { SharedReadBudget = b };
        return (CheckpointNode.Start(Sys, store, settings, $"shared{Interlocked.Increment(ref _nodes)}"), store, gate);
    }

    /// <summary>Starts every load, opens the gate once all of them have joined, and waits for each to end.</summary>
    private async Task<Task<LoadResult>[]> LoadTogetherAsync(CheckpointNode node, GatedStore.Gate gate, IReadOnlyList<RankState> targets, long step)
    {
        var loads = targets.Select(t => node.LoadAsync(t, step)).ToArray();
        await AwaitConditionAsync(() => Task.FromResult(node.SharedReads.Loading(step) == targets.Count), Patience);
        gate.Open();
        await Task.WhenAll(loads.Select(l => l.ContinueWith(_ => { }, TaskScheduler.Default))).WaitAsync(Patience);
        return loads;
    }

    private static long StoredBytes(CheckpointMetadata metadata) => metadata.Tensors.Values.SelectMany(t => t.Chunks).Sum(c => c.Bytes.Length);

    [Fact]
    public async Task Four_ranks_loading_a_replicated_state_should_read_the_stored_bytes_once()
    {
        var (node, store, gate) = StartCounted(CountingReadStore.Hold.AllReads);
        var states = TestStates.Build(Replicated, 4, seed: 1);
        var targets = TestStates.Empty(Replicated, 4);
        await SaveAllAsync(node, 1, states);
        store.Reset();

        var loads = await LoadTogetherAsync(node, gate, targets, 1);

        Assert.All(loads, l => Assert.True(l.IsCompletedSuccessfully, l.Exception?.ToString()));
        Assert.Empty(TestStates.Differences(Replicated, targets, seed: 1));
        Assert.Equal(StoredBytes(node.Store.ReadMetadata(1)), store.BytesRead);
        Assert.Equal(0, node.SharedReads.HeldBytes);
        Assert.Equal(0, node.SharedReads.Loading(1));
        TestStates.Dispose(states.Concat(targets));
    }

    [Fact]
    public async Task A_rank_cancelled_while_others_wait_for_its_read_should_not_stop_them()
    {
        var (node, _, gate) = StartCounted(CountingReadStore.Hold.FirstRead);
        var states = TestStates.Build(Replicated, 4, seed: 2);
        var targets = TestStates.Empty(Replicated, 4);
        await SaveAllAsync(node, 1, states);
        using var cancel = new CancellationTokenSource();

        // Rank 0 alone: it claims every range and is held in its first read.
        var rank0 = node.LoadAsync(targets[0], 1, cancellation: cancel.Token);
        await gate.Entered.WaitAsync(Patience);
        var others = targets.Skip(1).Select(t => node.LoadAsync(t, 1)).ToArray();
        // Ranks 1 to 3 have copied what rank 0 published and wait for the range it is reading.
        await AwaitConditionAsync(() => Task.FromResult(node.SharedReads.Waiting == 3), Patience);
        cancel.Cancel();
        gate.Open();

        var cancelled = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => rank0).WaitAsync(Patience);
        Assert.Equal(cancel.Token, cancelled.CancellationToken);
        await Task.WhenAll(others).WaitAsync(Patience);
        Assert.Empty(TestStates.Differences(Replicated, targets.Skip(1), seed: 2));
        Assert.Equal(0, node.SharedReads.HeldBytes);
        TestStates.Dispose(states.Concat(targets));
    }

    [Fact]
    public async Task A_rank_whose_read_fails_should_leave_the_others_to_read_that_range_themselves()
    {
        var (node, _, gate) = StartCounted(CountingReadStore.Hold.FailFirstRead);
        var states = TestStates.Build(Replicated, 4, seed: 3);
        var targets = TestStates.Empty(Replicated, 4);
        await SaveAllAsync(node, 1, states);

        var rank0 = node.LoadAsync(targets[0], 1);
        await gate.Entered.WaitAsync(Patience);
        var others = targets.Skip(1).Select(t => node.LoadAsync(t, 1)).ToArray();
        await AwaitConditionAsync(() => Task.FromResult(node.SharedReads.Waiting == 3), Patience);
        gate.Open();

        var failed = await Assert.ThrowsAsync<IOException>(() => rank0).WaitAsync(Patience);
        Assert.Equal("injected: the first data read fails", failed.Message);
        await Task.WhenAll(others).WaitAsync(Patience);
        Assert.Empty(TestStates.Differences(Replicated, targets.Skip(1), seed: 3));
        TestStates.Dispose(states.Concat(targets));
    }

    [Fact]
    public async Task A_corrupt_block_should_fail_every_rank_that_needs_it_with_one_error_and_never_be_copied()
    {
        var (node, _, gate) = StartCounted(CountingReadStore.Hold.AllReads);
        var states = TestStates.Build(Replicated, 4, seed: 4);
        var targets = TestStates.Empty(Replicated, 4);
        await SaveAllAsync(node, 1, states);
        const string key = "t.int64.replicated";
        var chunk = node.Store.ReadMetadata(1).Tensors[key].Chunks.Single();
        var path = Path.Combine(Root, CheckpointLayout.InStep(1, chunk.Bytes.File));
        var bytes = File.ReadAllBytes(path);
        bytes[chunk.Bytes.Offset + 5] ^= 0x40;
        File.WriteAllBytes(path, bytes);

        var loads = await LoadTogetherAsync(node, gate, targets, 1);

        var expected = $"checksum mismatch in '{chunk.Bytes.File}' for '{key}' (block 0, at byte {chunk.Bytes.Offset})";
        Assert.All(loads, l => Assert.Equal(expected, Assert.IsType<ChecksumMismatchException>(l.Exception!.InnerException).Message));
        // One rank read the range, the other three were told; a block is verified before its bytes
        // reach a tensor, so no rank got any of the corrupt block's.
        Assert.Equal(4, targets.Count(t => t.Tensors.Single(e => e.Key == key).Tensor.count_nonzero().item<long>() == 0));
        Assert.Equal(0, node.SharedReads.HeldBytes);
        TestStates.Dispose(states.Concat(targets));
    }

    [Fact]
    public async Task With_a_budget_too_small_to_share_every_rank_should_read_for_itself()
    {
        var (node, store, gate) = StartCounted(CountingReadStore.Hold.AllReads, budget: 1);
        var states = TestStates.Build(Replicated, 4, seed: 5);
        var targets = TestStates.Empty(Replicated, 4);
        await SaveAllAsync(node, 1, states);
        store.Reset();

        var loads = await LoadTogetherAsync(node, gate, targets, 1);

        Assert.All(loads, l => Assert.True(l.IsCompletedSuccessfully, l.Exception?.ToString()));
        Assert.Empty(TestStates.Differences(Replicated, targets, seed: 5));
        Assert.Equal(4 * StoredBytes(node.Store.ReadMetadata(1)), store.BytesRead);
        TestStates.Dispose(states.Concat(targets));
    }

    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    public async Task Resharded_loads_should_stay_bit_exact_and_read_each_range_once(int loadRanks)
    {
        var (node, store, gate) = StartCounted(CountingReadStore.Hold.AllReads);
        var states = TestStates.Build(Mixed, 4, seed: 6);
        var targets = TestStates.Empty(Mixed, loadRanks);
        await SaveAllAsync(node, 1, states);
        store.Reset();
        var metadata = node.Store.ReadMetadata(1);
        var plans = targets.Select(t => LoadPlanner.Plan(metadata,
            t.Tensors.Select((e, i) => new WantedChunk(i, e.Key, e.DType, e.GlobalShape, e.Box)).ToArray(), StrictHandling.AssumeOkUnexpected)).ToArray();
        var distinct = plans.SelectMany(p => p.Reads).GroupBy(SharedRangeKey.Of).Sum(g => g.Key.Length);

        var loads = await LoadTogetherAsync(node, gate, targets, 1);

        Assert.All(loads, l => Assert.True(l.IsCompletedSuccessfully, l.Exception?.ToString()));
        Assert.Empty(TestStates.Differences(Mixed, targets, seed: 6));
        Assert.Equal(distinct, store.BytesRead);
        Assert.True(distinct < plans.Sum(p => p.BytesToRead), "the replicated tensors are needed by every rank");
        TestStates.Dispose(states.Concat(targets));
    }
}

using TorchSharp;

namespace ActorCkpt.Actors.Tests;

public class StagingSpec : NodeSpec
{
    [Fact]
    public async Task Tensors_changed_after_staged_should_not_change_the_checkpoint()
    {
        var node = StartNode();
        var original = torch.arange(64, torch.float32).reshape(8, 8);
        var rank0 = new RankState(0, 2).AddSharded("w", original.narrow(0, 0, 4).clone(), 0, 0, 8);
        var rank1 = new RankState(1, 2).AddSharded("w", original.narrow(0, 4, 4).clone(), 0, 4, 8);

        // Rank 1 has not sent its plan yet, so no byte of rank 0 can have been written: the
        // planner waits for every rank. Whatever rank 0's tensor holds now, the save must not see.
        var first = node.Save(7, rank0);
        await first.Staged.WaitAsync(Patience);
        rank0.Tensors[0].Tensor.fill_(-1);
        Assert.False(first.Committed.IsCompleted);
        var second = node.Save(7, rank1);
        await Task.WhenAll(first.Committed, second.Committed).WaitAsync(Patience);

        var target = new RankState(0, 1).AddReplicated("w", torch.zeros(8, 8));
        await node.LoadAsync(target);
        Assert.True(target.Tensors[0].Tensor.allclose(original, rtol: 0, atol: 0));
    }

    [Fact]
    public async Task Staging_buffers_should_be_reused_across_saves()
    {
        var pool = new StagingPool();
        var first = await pool.RentAllAsync(new[] { 100_000L }, step: 1);
        pool.Return(first);

        var second = await pool.RentAllAsync(new[] { 90_000L }, step: 2);

        Assert.Same(first[0], second[0]);
        Assert.Equal(1, pool.Allocations);
        pool.Return(second);
        pool.Dispose();
    }

    [Fact]
    public async Task Buffers_of_a_huge_page_or_more_should_be_in_huge_pages_and_be_written_without_a_copy()
    {
        var pool = new StagingPool();
        var buffers = await pool.RentAllAsync(new[] { 100_000L, 4L << 20 }, step: 1);
        var (small, large) = (buffers.Single(b => b.Capacity < 2 << 20), buffers.Single(b => b.Capacity >= 2 << 20));

        Assert.False(small.InHugePages);
        Assert.False(CopiedWrites.InHugePages(small.Slice(100_000)));
        Assert.Equal(OperatingSystem.IsLinux(), large.InHugePages);
        Assert.Equal(OperatingSystem.IsLinux(), CopiedWrites.InHugePages(large.Slice(4 << 20)[123..]));
        pool.Return(buffers);
        pool.Dispose();
    }

    [Fact]
    public async Task A_request_that_only_buffers_of_its_own_step_stand_in_the_way_of_should_fail_and_others_should_wait()
    {
        var pool = new StagingPool(budgetBytes: 128 << 10);
        var rank0 = await pool.RentAllAsync(new[] { 100_000L }, step: 5);

        var sameStep = Assert.ThrowsAsync<StagingBudgetException>(() => pool.RentAllAsync(new[] { 100_000L }, step: 5));
        Assert.Contains("for step 5 together", (await sameStep).Message);
        var nextStep = pool.RentAllAsync(new[] { 100_000L }, step: 6);
        Assert.False(nextStep.IsCompleted);

        pool.Return(rank0);
        Assert.Same(rank0[0], (await nextStep)[0]);
        var cancel = new CancellationTokenSource();
        var cancelled = pool.RentAllAsync(new[] { 100_000L }, step: 7, cancel.Token);
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.Equal(0, pool.Waiting);
        pool.Dispose();
    }

    [Fact]
    public async Task A_request_of_an_older_step_should_not_wait_behind_a_newer_one_that_waits_for_it()
    {
        const long unit = 64 << 10;
        var pool = new StagingPool(budgetBytes: 8 * unit);
        var rank0Step1 = await pool.RentAllAsync(new[] { 6 * unit }, step: 1);
        // Rank 0's next save (two in flight) waits for step 1's buffers...
        var rank0Step2 = pool.RentAllAsync(new[] { 6 * unit }, step: 2);
        // ...which come back once step 1 is written, which needs rank 1's part of it: it fits, and is
        // served at once (before, it waited behind step 2 until the save's plan deadline failed step 1).
        var rank1Step1 = pool.RentAllAsync(new[] { 2 * unit }, step: 1);

        Assert.True(rank1Step1.IsCompletedSuccessfully);
        Assert.False(rank0Step2.IsCompleted);
        pool.Return(rank0Step1);
        Assert.True(rank0Step2.IsCompletedSuccessfully);
        pool.Dispose();
    }

    [Fact]
    public async Task A_cancelled_request_should_let_the_ones_behind_it_that_fit_have_their_buffers()
    {
        const long unit = 64 << 10;
        var pool = new StagingPool(budgetBytes: 4 * unit);
        var held = await pool.RentAllAsync(new[] { 2 * unit }, step: 1);
        var cancel = new CancellationTokenSource();
        var big = pool.RentAllAsync(new[] { 4 * unit }, step: 2, cancel.Token);
        var small = pool.RentAllAsync(new[] { unit }, step: 3);
        Assert.False(small.IsCompleted);

        cancel.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => big);
        Assert.True(small.IsCompletedSuccessfully); // before, it slept until some other buffer came back
        pool.Return(held);
        pool.Return(await small);
        pool.Dispose();
        Assert.Equal(0, pool.AllocatedBytes);
    }
}

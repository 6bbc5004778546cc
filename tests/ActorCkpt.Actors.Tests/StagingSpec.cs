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
}

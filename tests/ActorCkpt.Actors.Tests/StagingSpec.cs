using ActorCkpt.Actors;
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
    public void Staging_buffers_should_be_reused_across_saves()
    {
        var pool = new StagingPool();
        var first = pool.Rent(100_000);
        pool.Return(new[] { first });

        var second = pool.Rent(90_000);

        Assert.Same(first, second);
        Assert.Equal(1, pool.Allocations);
        pool.Return(new[] { second });
        pool.Dispose();
    }
}

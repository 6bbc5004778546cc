using TorchSharp;
using static TorchSharp.torch;

namespace ActorCkpt.Cli.Train;

/// <summary>
/// One optimizer step of the demo over all ranks, simulated in one process. Each rank runs its
/// slice of the global batch through fc1; the tensor-parallel layer's output for that slice is
/// gathered from every rank's weight shard (a concatenation inside the autograd graph stands in for
/// the all-gather and its backward); fc2 and the loss follow. The loss is summed squared error over
/// the global batch divided by its size, so the sum over ranks is the same number whatever the
/// split (up to floating-point order). After backward, the gradients of the replicated parameters
/// are summed over ranks in rank order (the data-parallel all-reduce) and every rank steps.
/// </summary>
internal static class TrainStep
{
    /// <summary>The probability that dropout zeroes a unit of the tensor-parallel layer's output.</summary>
    public const double DropoutRate = 0.1;

    /// <summary>Runs one step on the samples <paramref name="batch"/>; returns the loss over the global batch.</summary>
    public static float Run(IReadOnlyList<RankTrainer> ranks, RegressionData data, int[] batch)
    {
        using var scope = NewDisposeScope();
        var b = batch.Length;
        // Scalars held to the end: TorchSharp 0.107 keeps no reference to an implicit one while libtorch
        // reads it, so a GC may free it mid-call (the demo's 'Expected false to be true … Scalar.h').
        using var dropoutRate = DropoutRate.ToScalar();
        using var keptScale = (1 - DropoutRate).ToScalar();
        using var batchSize = b.ToScalar();
        var index = tensor(batch.Select(i => (long)i).ToArray());
        var inputs = data.Inputs.index_select(0, index);
        var targets = data.Targets.index_select(0, index);
        Tensor? total = null;
        foreach (var rank in ranks)
        {
            // Every rank draws the whole batch's mask, as data-parallel ranks with one RNG stream do, and keeps its rows.
            var keep = rand(new long[] { b, RankModel.ParallelWidth }, generator: rank.Dropout).ge(dropoutRate);
            var (slice, length) = ShardSpec.Even(0, b, rank.Rank, ranks.Count);
            var offset = slice.Offset;
            var h = rank.Model.Encode(inputs.narrow(0, offset, length));
            var gathered = cat(ranks.Select(r => r.Model.Parallel(h)).ToArray(), 1);
            var mask = keep.narrow(0, offset, length).to_type(ScalarType.Float32).div(keptScale);
            var output = rank.Model.Head(nn.functional.relu(gathered).mul(mask));
            var loss = output.sub(targets.narrow(0, offset, length)).square().sum().div(batchSize);
            total = total is null ? loss : total.add(loss);
        }
        total!.backward();
        AllReduceReplicated(ranks);
        WithoutCollections.Run(() =>
        {
            foreach (var rank in ranks) rank.Optimizer.step();
        });
        foreach (var rank in ranks)
        {
            rank.Scheduler.step();
            rank.Optimizer.zero_grad();
        }
        return total.item<float>();
    }

    private static void AllReduceReplicated(IReadOnlyList<RankTrainer> ranks)
    {
        using var _ = no_grad();
        var grads = ranks.Select(r => r.Model.Replicated.Select(p => p.Parameter.grad!).ToArray()).ToArray();
        for (var i = 0; i < grads[0].Length; i++)
        {
            var sum = grads[0][i].clone();
            for (var k = 1; k < grads.Length; k++) sum.add_(grads[k][i]);
            foreach (var g in grads) g[i].copy_(sum);
        }
    }
}

using static TorchSharp.torch;

namespace TrainingHost;

/// <summary>
/// The data, made rather than read: the global batch of a step is a function of (seed, step) alone,
/// the same on every rank; the table rows a rank trains on come from that rank's own generator,
/// whose state is checkpointed per rank (as a data loader's would be).
/// </summary>
internal sealed class SyntheticData : IDisposable
{
    public const int BatchSize = 32;
    public const int RowsPerStep = 8;
    private readonly int _seed;
    private readonly Tensor _teacher;

    public SyntheticData(int seed)
    {
        _seed = seed;
        using var g = new Generator((ulong)seed ^ 0x5eed_7eac_4e00UL);
        _teacher = randn(new long[] { TinyModel.Inputs, TinyModel.Outputs }, generator: g);
    }

    /// <summary>The global batch of <paramref name="step"/>: inputs and the targets a fixed teacher gives them.</summary>
    public (Tensor X, Tensor Y) GlobalBatch(long step)
    {
        using var g = new Generator((ulong)(_seed * 1_000_003L + step));
        var x = randn(new long[] { BatchSize, TinyModel.Inputs }, generator: g);
        using var xt = x.matmul(_teacher);
        return (x, xt.sin());
    }

    /// <summary>A generator for <paramref name="rank"/>'s rows, as it stands at the start of training.</summary>
    public Generator RankGenerator(int rank) => new((ulong)(_seed * 7919L + rank + 1));

    /// <summary>Which of this rank's rows the step trains (drawn from <paramref name="rankGenerator"/>) and their targets.</summary>
    public (Tensor LocalRows, Tensor Targets) RankBatch(Generator rankGenerator, ActorCkpt.ShardSpec shard, long length)
    {
        var local = randint(0, length, new long[] { RowsPerStep }, dtype: ScalarType.Int64, generator: rankGenerator);
        // Targets depend on the global row, so they do not change with the layout.
        using var global = (local + shard.Offset).to_type(ScalarType.Float32).unsqueeze(1);
        using var cols = arange(TinyModel.TableWidth, dtype: ScalarType.Float32).unsqueeze(0);
        using var phase = global * 0.3f + cols * 0.7f;
        return (local, phase.sin());
    }

    public void Dispose() => _teacher.Dispose();
}

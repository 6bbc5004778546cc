using TorchSharp;
using static TorchSharp.torch;

namespace ActorCkpt.Cli.Train;

/// <summary>
/// The demo's data: <see cref="Samples"/> inputs drawn from a seeded generator, and targets from a
/// fixed nonlinear function of them. The same seed gives the same bytes on every run.
/// </summary>
internal sealed class RegressionData : IDisposable
{
    /// <summary>Samples in the data set.</summary>
    public const int Samples = 2048;

    /// <summary>Makes the data set of <paramref name="seed"/>.</summary>
    public RegressionData(int seed)
    {
        using var generator = new Generator((ulong)seed + 7919, CPU);
        Inputs = randn(new long[] { Samples, RankModel.Inputs }, generator: generator);
        using var direction = randn(new long[] { RankModel.Inputs, 1 }, generator: generator);
        // Held to the end, as in TrainStep: an implicit Scalar may be freed by a GC while libtorch reads it.
        using var quarter = 0.25.ToScalar();
        using var projected = Inputs.matmul(direction).mul_(quarter);
        using var wave = projected.sin();
        using var square = Inputs.narrow(1, 0, 1).square();
        Targets = wave.add(square, alpha: quarter);
    }

    /// <summary>Inputs, [Samples, Inputs].</summary>
    public Tensor Inputs { get; }

    /// <summary>Targets, [Samples, 1].</summary>
    public Tensor Targets { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        Inputs.Dispose();
        Targets.Dispose();
    }
}

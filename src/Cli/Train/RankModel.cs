using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ActorCkpt.Cli.Train;

/// <summary>
/// One rank's part of the demo's MLP: <c>fc1</c> (replicated), <c>tp</c> (column-parallel: this
/// rank's rows of the weight and bias, Megatron's ColumnParallelLinear) and <c>fc2</c>
/// (replicated). The tensor-parallel output is gathered by the trainer across ranks.
/// </summary>
internal sealed class RankModel : nn.Module
{
    /// <summary>Input features.</summary>
    public const int Inputs = 16;

    /// <summary>Width of fc1.</summary>
    public const int Hidden = 64;

    /// <summary>Width of the tensor-parallel layer, over all ranks.</summary>
    public const int ParallelWidth = 96;

    private readonly Linear fc1;
    private readonly Linear tp;
    private readonly Linear fc2;

    /// <summary>Rank <paramref name="rank"/>'s part among <paramref name="worldSize"/>; call <see cref="CopyFrom"/> to give it its values.</summary>
    public RankModel(int rank, int worldSize) : base(nameof(RankModel))
    {
        var (spec, width) = ShardSpec.Even(0, ParallelWidth, rank, worldSize);
        fc1 = nn.Linear(Inputs, Hidden);
        tp = nn.Linear(Hidden, width);
        fc2 = nn.Linear(ParallelWidth, 1);
        RegisterComponents();
        Sharding = new Dictionary<string, ShardSpec> { ["tp.weight"] = spec, ["tp.bias"] = spec };
    }

    /// <summary>How this rank's parameters are split: tp's weight and bias along their rows.</summary>
    public IReadOnlyDictionary<string, ShardSpec> Sharding { get; }

    /// <summary>The replicated parameters, whose gradients are averaged across ranks.</summary>
    public IEnumerable<(string Name, Parameter Parameter)> Replicated =>
        named_parameters().Where(p => !Sharding.ContainsKey(p.name));

    /// <summary>fc1 and its activation: the input of the tensor-parallel layer.</summary>
    public Tensor Encode(Tensor x)
    {
        using var h = fc1.forward(x);
        return nn.functional.relu(h);
    }

    /// <summary>This rank's columns of the tensor-parallel layer's output.</summary>
    public Tensor Parallel(Tensor h) => tp.forward(h);

    /// <summary>fc2 over the gathered tensor-parallel output.</summary>
    public Tensor Head(Tensor z) => fc2.forward(z);

    /// <summary>Sets this part's values from the same parameters of a one-rank model (its own slice for tp).</summary>
    public void CopyFrom(RankModel whole)
    {
        using var _ = no_grad();
        var source = whole.state_dict();
        foreach (var (name, tensor) in state_dict())
        {
            var full = source[name];
            if (Sharding.TryGetValue(name, out var spec))
            {
                using var slice = full.narrow(spec.Dim, spec.Offset, tensor.shape[spec.Dim]);
                tensor.copy_(slice);
            }
            else
            {
                tensor.copy_(full);
            }
        }
    }
}

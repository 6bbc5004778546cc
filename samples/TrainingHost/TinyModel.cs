using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TrainingHost;

/// <summary>
/// The model: a small MLP that every rank holds whole (replicated: trained on the same global batch
/// on every rank, so the replicas stay identical and the checkpoint keeps one copy), and an
/// embedding table of <see cref="TableRows"/> rows split along rows across the ranks (each rank
/// trains its own rows on its own data, as a tensor-parallel layer would).
/// </summary>
internal sealed class TinyModel : nn.Module
{
    public const int Inputs = 16;
    public const int Hidden = 32;
    public const int Outputs = 4;
    public const long TableRows = 60;
    public const int TableWidth = 8;

    /// <summary>Checkpoint key prefixes of the model's state (ModuleState) and of its optimizer's (OptimizerStateDict).</summary>
    public const string ModelPrefix = "model", OptimizerPrefix = "optim";

    // Field names are the state_dict names: mlp.0.weight, mlp.0.bias, ..., table.
    private readonly Sequential mlp;
    private readonly Parameter table;

    /// <summary>
    /// The model of <paramref name="rank"/> of <paramref name="world"/>, initialized from <paramref name="seed"/>:
    /// the same MLP everywhere; the table made whole and then sliced, so every layout starts from the same table.
    /// </summary>
    public TinyModel(int seed, int rank, int world) : base(nameof(TinyModel))
    {
        (TableShard, TableLength) = ActorCkpt.ShardSpec.Even(0, TableRows, rank, world);
        using (var init = new Generator((ulong)seed))
        {
            mlp = nn.Sequential(nn.Linear(Inputs, Hidden), nn.Tanh(), nn.Linear(Hidden, Outputs));
            using var _ = no_grad();
            foreach (var (_, p) in mlp.named_parameters())
                p.copy_(randn(p.shape, generator: init) * (1.0 / Math.Sqrt(p.shape[^1])));
            using var whole = randn(new[] { TableRows, (long)TableWidth }, generator: init);
            table = new Parameter(whole.narrow(0, TableShard.Offset, TableLength).clone());
        }
        RegisterComponents();
    }

    /// <summary>Where this rank's rows sit in the whole table.</summary>
    public ActorCkpt.ShardSpec TableShard { get; }

    /// <summary>How many rows this rank holds.</summary>
    public long TableLength { get; }

    /// <summary>How the checkpoint sees the model: the table is sharded, the rest replicated.</summary>
    public IReadOnlyDictionary<string, ActorCkpt.ShardSpec> Sharding => new Dictionary<string, ActorCkpt.ShardSpec> { ["table"] = TableShard };

    /// <summary>
    /// Whether a checkpoint key is sharded: the table, and its optimizer state (as ModuleState and
    /// OptimizerStateDict name them under <see cref="ModelPrefix"/> and <see cref="OptimizerPrefix"/>).
    /// </summary>
    public bool IsSharded(string key) =>
        Sharding.Keys.Any(name => key == $"{ModelPrefix}.{name}" || key.StartsWith($"{OptimizerPrefix}.state.{name}.", StringComparison.Ordinal));

    /// <summary>The MLP's prediction for a batch of inputs.</summary>
    public Tensor Predict(Tensor x) => mlp.call(x);

    /// <summary>This rank's rows <paramref name="localRows"/> of the table.</summary>
    public Tensor Rows(Tensor localRows) => table.index_select(0, localRows);
}

using TorchSharp;

namespace ActorCkpt;

/// <summary>
/// A TorchSharp module's state: its parameters and persistent buffers (<c>state_dict()</c>) under
/// <c>{prefix}.{name}</c>. The module's own tensors are saved from and loaded into in place; they
/// are live, so they are never disposed here. Parameters with a <see cref="ShardSpec"/> are this
/// rank's slices of larger tensors (tensor parallelism); a load reshards them to the slices asked for.
/// </summary>
public sealed class ModuleState : IStateful
{
    private readonly torch.nn.Module _module;
    private readonly string _prefix;
    private readonly IReadOnlyDictionary<string, ShardSpec> _sharding;
    private readonly Func<string, bool> _include;

    /// <summary>
    /// The state of <paramref name="module"/>. <paramref name="sharding"/> maps names of
    /// <c>state_dict()</c> to their split; <paramref name="include"/>, when given, keeps only the
    /// names it accepts (for adapter-only checkpoints, see <see cref="KeyFilter"/>).
    /// Throws naming a sharded name the module does not have.
    /// </summary>
    public ModuleState(torch.nn.Module module, string prefix = "model", IReadOnlyDictionary<string, ShardSpec>? sharding = null, Func<string, bool>? include = null)
    {
        _module = module;
        _prefix = prefix;
        _sharding = sharding ?? new Dictionary<string, ShardSpec>();
        _include = include ?? (_ => true);
        var names = module.state_dict().Keys.ToHashSet(StringComparer.Ordinal);
        foreach (var name in _sharding.Keys.Where(n => !names.Contains(n)))
            throw new ArgumentException($"sharding names '{name}', which is not in the module's state_dict ({string.Join(", ", names.Order(StringComparer.Ordinal))})");
    }

    /// <summary>The checkpoint key of the module's entry <paramref name="name"/>.</summary>
    public string KeyOf(string name) => _prefix + "." + name;

    /// <inheritdoc />
    public void Save(RankState state) => AddEntries(state);

    /// <inheritdoc />
    public void PrepareLoad(RankState target, CheckpointMetadata saved) => AddEntries(target);

    /// <inheritdoc />
    public void Restore(LoadResult result)
    {
    }

    private void AddEntries(RankState state)
    {
        foreach (var (name, tensor) in _module.state_dict())
            if (_include(name))
                ShardSpec.Add(state, KeyOf(name), tensor, _sharding.GetValueOrDefault(name));
    }
}

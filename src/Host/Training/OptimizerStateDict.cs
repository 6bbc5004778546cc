using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;

namespace ActorCkpt;

/// <summary>
/// A TorchSharp optimizer's state: per parameter its state tensors (Adam and AdamW: exp_avg,
/// exp_avg_sq, max_exp_avg_sq; SGD: momentum_buffer; any optimizer's public tensor fields) under
/// <c>{prefix}.state.{parameter}.{field}</c>, sharded like their parameter; and one global JSON
/// entry <c>{prefix}.param_groups</c> with the optimizer's type, each group's options (lr,
/// initial lr, betas, eps, weight decay, momentum, …) and the per-parameter counters (Adam's step).
/// Loading fills the optimizer's own tensors in place and sets options and counters; a state tensor
/// the checkpoint has and the optimizer has not yet made (SGD's momentum before the first step) is
/// made, and one the checkpoint lacks is dropped, so the next step behaves as after the save.
/// </summary>
public sealed class OptimizerStateDict : IStateful
{
    private const string OptionLearningRate = "lr";
    private const string OptionInitialLearningRate = "initial_lr";
    private readonly OptimizerHelper _optimizer;
    private readonly string _prefix;
    private readonly OptimizerKeys _keys;
    private readonly IReadOnlyList<Slot> _slots;
    private readonly List<(Slot Slot, FieldInfo Field)> _dropOnRestore = new();
    // State tensors a load fills that the optimizer has not made yet: set into it only by Restore, so a refused load leaves it as it was.
    private readonly List<(Slot Slot, FieldInfo Field, torch.Tensor Made)> _makeOnRestore = new();

    /// <summary>
    /// The state of <paramref name="optimizer"/>, whose parameters are named by
    /// <paramref name="module"/>; <paramref name="sharding"/> is the module's (by parameter name).
    /// Throws naming a parameter the module does not name.
    /// </summary>
    public OptimizerStateDict(OptimizerHelper optimizer, torch.nn.Module module, string prefix = "optim",
        IReadOnlyDictionary<string, ShardSpec>? sharding = null, OptimizerKeys keys = OptimizerKeys.ByName)
    {
        _optimizer = optimizer;
        _prefix = prefix;
        _keys = keys;
        var names = module.named_parameters().ToDictionary(p => p.parameter.Handle, p => p.name);
        var slots = new List<Slot>();
        var groups = optimizer.ParamGroups.Cast<ParamGroup>().ToList();
        for (var g = 0; g < groups.Count; g++)
            foreach (var p in groups[g].Parameters)
            {
                var name = names.TryGetValue(p.Handle, out var n) ? n
                    : throw new ArgumentException($"parameter {slots.Count} of the optimizer (group {g}) is not a parameter of the module given to name them");
                slots.Add(new Slot(slots.Count, g, name, p, sharding?.GetValueOrDefault(name)));
            }
        _slots = slots;
    }

    private string DocumentKey => _prefix + ".param_groups";

    /// <inheritdoc />
    public void Save(RankState state)
    {
        var states = _optimizer.state_dict().State;
        var scalars = new JsonObject();
        foreach (var slot in _slots)
        {
            var s = states[slot.Index];
            var counters = new JsonObject();
            foreach (var field in Fields(s))
            {
                if (field.FieldType == typeof(torch.Tensor))
                {
                    if (field.GetValue(s) is torch.Tensor t) ShardSpec.Add(state, TensorKey(slot, field), t, SpecFor(slot, t));
                }
                else
                {
                    counters[field.Name] = ScalarJson.From(field.GetValue(s), field.FieldType);
                }
            }
            scalars[Label(slot)] = counters;
        }
        var groups = new JsonArray();
        foreach (var (group, g) in _optimizer.ParamGroups.Cast<ParamGroup>().Select((group, g) => (group, g)))
            groups.Add(new JsonObject
            {
                ["options"] = Options(group.Options),
                ["params"] = new JsonArray(_slots.Where(s => s.Group == g).Select(s => (JsonNode)JsonValue.Create(Label(s))).ToArray()),
            });
        state.AddJson(DocumentKey, new JsonObject
        {
            ["optimizer"] = _optimizer.GetType().Name,
            ["keys"] = _keys.ToString(),
            ["groups"] = groups,
            ["state"] = scalars,
        }, ObjectScope.Global);
    }

    /// <inheritdoc />
    public void PrepareLoad(RankState target, CheckpointMetadata saved)
    {
        if (!saved.Objects.Any(o => o.Key == DocumentKey))
            throw new ActorCkptException($"step {saved.Step} has no optimizer state under '{_prefix}' (no entry '{DocumentKey}')");
        var states = _optimizer.state_dict().State;
        _dropOnRestore.Clear();
        // Made for a load that did not restore (it failed): never set into the optimizer.
        foreach (var made in _makeOnRestore) made.Made.Dispose();
        _makeOnRestore.Clear();
        foreach (var slot in _slots)
        {
            var s = states[slot.Index];
            foreach (var field in Fields(s).Where(f => f.FieldType == typeof(torch.Tensor)))
            {
                var key = TensorKey(slot, field);
                var live = field.GetValue(s) as torch.Tensor;
                if (!saved.Tensors.ContainsKey(key))
                {
                    if (live is not null) _dropOnRestore.Add((slot, field));
                    continue;
                }
                if (live is null)
                {
                    live = torch.zeros_like(slot.Parameter);
                    _makeOnRestore.Add((slot, field, live));
                }
                ShardSpec.Add(target, key, live, SpecFor(slot, live));
            }
        }
    }

    /// <inheritdoc />
    /// <remarks>Refuses the state of another optimizer type, of the other way of keying parameters, and
    /// (keyed by index) of another grouping.</remarks>
    public void CheckRestore(LoadResult result) => Checked(result);

    /// <inheritdoc />
    public void Restore(LoadResult result)
    {
        var doc = Checked(result);
        var savedGroups = doc["groups"]!.AsArray();
        var groups = _optimizer.ParamGroups.Cast<ParamGroup>().ToList();
        if (_keys == OptimizerKeys.ByIndex)
        {
            for (var g = 0; g < groups.Count; g++) SetOptions(groups[g].Options, savedGroups[g]!["options"]!.AsObject());
        }
        else
        {
            var groupOf = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
            foreach (var g in savedGroups)
                foreach (var p in g!["params"]!.AsArray())
                    groupOf[(string)p!] = g["options"]!.AsObject();
            // A regrouped optimizer takes each group's options from its first parameter's saved group, as DCP's flattened form does.
            for (var g = 0; g < groups.Count; g++)
                if (_slots.FirstOrDefault(s => s.Group == g && groupOf.ContainsKey(s.Name)) is { } first)
                    SetOptions(groups[g].Options, groupOf[first.Name]);
        }

        var states = _optimizer.state_dict().State;
        var scalars = doc["state"]!.AsObject();
        foreach (var slot in _slots)
        {
            if (scalars[Label(slot)] is not JsonObject counters) continue;
            var s = states[slot.Index];
            foreach (var field in Fields(s).Where(f => f.FieldType != typeof(torch.Tensor)))
                if (counters[field.Name] is { } value) field.SetValue(s, ScalarJson.To(value, field.FieldType));
        }
        foreach (var (slot, field) in _dropOnRestore)
        {
            var s = states[slot.Index];
            (field.GetValue(s) as torch.Tensor)?.Dispose();
            field.SetValue(s, null);
        }
        _dropOnRestore.Clear();
        foreach (var (slot, field, made) in _makeOnRestore) field.SetValue(states[slot.Index], made);
        _makeOnRestore.Clear();
    }

    /// <summary>The saved document of <paramref name="result"/>, refused when it is not this optimizer's (type, keying, grouping by index).</summary>
    private JsonObject Checked(LoadResult result)
    {
        var doc = result.Json<JsonObject>(DocumentKey);
        var savedType = (string?)doc["optimizer"];
        if (savedType != _optimizer.GetType().Name)
            throw new ActorCkptException($"'{DocumentKey}' of step {result.Step} is the state of {savedType}, not of this {_optimizer.GetType().Name}");
        if ((string?)doc["keys"] != _keys.ToString())
            throw new ActorCkptException($"'{DocumentKey}' of step {result.Step} keys parameters {doc["keys"]}, this optimizer {_keys}");
        if (_keys == OptimizerKeys.ByIndex)
        {
            var savedShape = doc["groups"]!.AsArray().Select(g => g!["params"]!.AsArray().Count).ToArray();
            var shape = _optimizer.ParamGroups.Cast<ParamGroup>().Select((_, g) => _slots.Count(s => s.Group == g)).ToArray();
            if (!savedShape.SequenceEqual(shape))
                throw new ActorCkptException($"'{DocumentKey}' of step {result.Step} has groups of [{string.Join(", ", savedShape)}] parameters, this optimizer [{string.Join(", ", shape)}]: " +
                                             "save with OptimizerKeys.ByName to load across a change of grouping");
        }
        return doc;
    }

    private string Label(Slot slot) => _keys == OptimizerKeys.ByName ? slot.Name : slot.Index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private string TensorKey(Slot slot, FieldInfo field) => $"{_prefix}.state.{Label(slot)}.{field.Name}";

    /// <summary>The parameter's split, for a state tensor shaped like it; a differently shaped state tensor of a sharded parameter has no defined split.</summary>
    private static ShardSpec? SpecFor(Slot slot, torch.Tensor t)
    {
        if (slot.Spec is null) return null;
        if (!t.shape.SequenceEqual(slot.Parameter.shape))
            throw new ActorCkptException($"optimizer state of sharded parameter '{slot.Name}' has shape [{string.Join(", ", t.shape)}], not the parameter's [{string.Join(", ", slot.Parameter.shape)}]");
        return slot.Spec;
    }

    /// <summary>A state's fields: tensors, and counters of primitive types.</summary>
    private static IEnumerable<FieldInfo> Fields(TorchSharp.Modules.OptimizerState state) =>
        state.GetType().GetFields(BindingFlags.Public | BindingFlags.Instance)
            .Where(f => f.FieldType == typeof(torch.Tensor) || IsScalar(f.FieldType))
            .OrderBy(f => f.Name, StringComparer.Ordinal);

    private static JsonObject Options(OptimizerOptions options)
    {
        var json = new JsonObject
        {
            [OptionLearningRate] = options.LearningRate,
            [OptionInitialLearningRate] = options.InitialLearningRate,
        };
        foreach (var f in options.GetType().GetFields(BindingFlags.Public | BindingFlags.Instance).Where(f => IsScalar(f.FieldType)))
            json[f.Name] = ScalarJson.From(f.GetValue(options), f.FieldType);
        return json;
    }

    private static void SetOptions(OptimizerOptions options, JsonObject saved)
    {
        if (saved[OptionLearningRate] is { } lr) options.LearningRate = lr.GetValue<double>();
        if (saved[OptionInitialLearningRate] is { } initial) options.InitialLearningRate = initial.GetValue<double>();
        foreach (var f in options.GetType().GetFields(BindingFlags.Public | BindingFlags.Instance).Where(f => IsScalar(f.FieldType)))
            if (saved[f.Name] is { } value) f.SetValue(options, ScalarJson.To(value, f.FieldType));
    }

    private static bool IsScalar(Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        return t.IsPrimitive || t == typeof(decimal);
    }

    /// <summary>One parameter of the optimizer: its position overall and in which group, its name and split.</summary>
    private sealed record Slot(int Index, int Group, string Name, Parameter Parameter, ShardSpec? Spec);
}

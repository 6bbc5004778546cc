using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;

namespace ActorCkpt;

/// <summary>
/// An LR scheduler's state as one global JSON entry: every field of the scheduler except its
/// optimizer and its functions (PyTorch's <c>state_dict()</c> is the same: <c>__dict__</c> without
/// the optimizer and lambdas), so the last epoch, the step count, the base and last learning rates
/// and the schedule's own counters. TorchSharp keeps these fields internal, so they are read and set
/// by reflection; a field of a type that cannot be carried is refused by name.
/// The optimizer's current learning rates travel with the optimizer (<see cref="OptimizerStateDict"/>).
/// </summary>
public sealed class SchedulerState : IStateful
{
    private readonly torch.optim.lr_scheduler.LRScheduler _scheduler;
    private readonly string _key;
    private readonly IReadOnlyList<FieldInfo> _fields;

    /// <summary>The state of <paramref name="scheduler"/> under <paramref name="key"/>.</summary>
    public SchedulerState(torch.optim.lr_scheduler.LRScheduler scheduler, string key = "lr_scheduler")
    {
        _scheduler = scheduler;
        _key = key;
        _fields = FieldsOf(scheduler.GetType());
    }

    /// <inheritdoc />
    public void Save(RankState state)
    {
        var json = new JsonObject();
        foreach (var f in _fields) json[f.Name] = ScalarJson.From(f.GetValue(_scheduler), f.FieldType);
        json["type"] = _scheduler.GetType().Name;
        state.AddJson(_key, json, ObjectScope.Global);
    }

    /// <inheritdoc />
    public void PrepareLoad(RankState target, CheckpointMetadata saved)
    {
    }

    /// <inheritdoc />
    public void Restore(LoadResult result)
    {
        var json = result.Json<JsonObject>(_key);
        if ((string?)json["type"] != _scheduler.GetType().Name)
            throw new ActorCkptException($"'{_key}' of step {result.Step} is the state of a {json["type"]}, not of this {_scheduler.GetType().Name}");
        foreach (var f in _fields)
        {
            if (json[f.Name] is not { } value) continue;
            f.SetValue(_scheduler, ScalarJson.To(value, Concrete(f.FieldType)));
        }
    }

    private static IReadOnlyList<FieldInfo> FieldsOf(Type type)
    {
        var fields = new List<FieldInfo>();
        for (var t = type; t is not null && t != typeof(object); t = t.BaseType)
            foreach (var f in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                if (typeof(torch.optim.Optimizer).IsAssignableFrom(f.FieldType) || IsFunction(f.FieldType)) continue;
                if (!IsCarried(f.FieldType))
                    throw new NotSupportedException($"{type.Name}.{f.Name} is a {f.FieldType.Name}, which a scheduler checkpoint cannot carry");
                fields.Add(f);
            }
        return fields;
    }

    private static bool IsFunction(Type type) =>
        typeof(Delegate).IsAssignableFrom(type) || (Element(type) is { } e && typeof(Delegate).IsAssignableFrom(e));

    private static bool IsCarried(Type type) => IsValue(type) || (Element(type) is { } e && IsValue(e));

    private static bool IsValue(Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        return t.IsPrimitive || t.IsEnum || t == typeof(string) || t == typeof(decimal);
    }

    /// <summary>The element type of an array or a generic list or enumerable; null for anything else.</summary>
    private static Type? Element(Type type) =>
        type.IsArray ? type.GetElementType()
        : type.IsGenericType && type.GetGenericArguments().Length == 1 && typeof(System.Collections.IEnumerable).IsAssignableFrom(type) ? type.GetGenericArguments()[0]
        : null;

    /// <summary>A type JSON can make for a field: interfaces of lists become lists.</summary>
    private static Type Concrete(Type type) =>
        type.IsInterface && Element(type) is { } e ? typeof(List<>).MakeGenericType(e) : type;
}

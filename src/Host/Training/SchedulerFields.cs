using System.Collections;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using TorchSharp;
using LRScheduler = TorchSharp.torch.optim.lr_scheduler.LRScheduler;

namespace ActorCkpt;

/// <summary>
/// An LR scheduler's fields as JSON, by reflection, as PyTorch's <c>state_dict()</c> takes
/// <c>__dict__</c>: every field of the scheduler and its base classes except its optimizer, its
/// functions and its views of the optimizer's own options (OneCycleLR's betas and momentum, which
/// the optimizer's state carries). A field holds plain data (numbers, strings, enums; arrays, lists
/// and string-keyed dictionaries of plain data; objects whose fields are plain data, as OneCycleLR's
/// phases) or other schedulers (SequentialLR's and ChainedLR's), each written with its type and its
/// own fields and restored in place, so the composite's children continue their own schedules.
/// </summary>
internal static class SchedulerFields
{
    private const string TypeField = "type";

    // Nesting of plain objects carried: enough for the schedulers' own records, and a bound on a cycle.
    private const int MaxDepth = 4;

    /// <summary>Throws <see cref="NotSupportedException"/> naming the first field of <paramref name="scheduler"/> (or of a scheduler it holds) that cannot be carried.</summary>
    public static void Check(LRScheduler scheduler)
    {
        foreach (var f in Carried(scheduler.GetType()))
            if (f.GetValue(scheduler) is { } value) CheckSchedulers(value);
    }

    /// <summary>The state of <paramref name="scheduler"/>: its type and every carried field.</summary>
    public static JsonObject Write(LRScheduler scheduler)
    {
        var json = new JsonObject();
        foreach (var f in Carried(scheduler.GetType())) json[f.Name] = Write(f.GetValue(scheduler), f.FieldType);
        json[TypeField] = scheduler.GetType().Name;
        return json;
    }

    /// <summary>
    /// Sets the fields of <paramref name="scheduler"/> from <paramref name="json"/>, and those of
    /// the schedulers it holds from theirs; <paramref name="where"/> names the entry in errors. A
    /// field the JSON lacks keeps its value. Refuses a state of another type or of another number
    /// of schedulers before setting anything of that scheduler.
    /// </summary>
    public static void Restore(JsonObject json, LRScheduler scheduler, string where)
    {
        CheckRestore(json, scheduler, where);
        foreach (var f in Carried(scheduler.GetType()))
        {
            if (!json.ContainsKey(f.Name)) continue;
            var restored = Read(json[f.Name], f.FieldType, f.GetValue(scheduler), $"{where}.{f.Name}", 0);
            if (!f.FieldType.IsValueType || restored is not null) f.SetValue(scheduler, restored);
        }
    }

    /// <summary>Refuses, as <see cref="Restore"/> would, a state of another type or of another number or type of schedulers, setting nothing.</summary>
    public static void CheckRestore(JsonObject json, LRScheduler scheduler, string where)
    {
        CheckType(json, scheduler, where);
        foreach (var f in Carried(scheduler.GetType()))
            if (json[f.Name] is { } value) CheckChildren(value, f.GetValue(scheduler), $"{where}.{f.Name}");
    }

    private static void CheckType(JsonObject json, LRScheduler scheduler, string where)
    {
        if ((string?)json[TypeField] != scheduler.GetType().Name)
            throw new ActorCkptException($"{where} is the state of a {json[TypeField]}, not of this {scheduler.GetType().Name}");
    }

    /// <summary>Refuses saved schedulers that do not match <paramref name="live"/>'s in number and type, at any depth.</summary>
    private static void CheckChildren(JsonNode saved, object? live, string where)
    {
        switch (live)
        {
            case LRScheduler child:
                if (saved is not JsonObject o) throw new ActorCkptException($"{where} is not the state of a scheduler");
                CheckType(o, child, where);
                foreach (var f in Carried(child.GetType()))
                    if (o[f.Name] is { } value) CheckChildren(value, f.GetValue(child), $"{where}.{f.Name}");
                break;
            case IEnumerable many when many.Cast<object?>().Any(e => e is LRScheduler):
                var children = many.Cast<object?>().ToList();
                if (saved is not JsonArray a || a.Count != children.Count)
                    throw new ActorCkptException($"{where} holds {(saved as JsonArray)?.Count.ToString() ?? "no list of"} schedulers, this one {children.Count}");
                for (var i = 0; i < children.Count; i++) CheckChildren(a[i]!, children[i], $"{where}[{i}]");
                break;
        }
    }

    /// <summary>The fields carried for a scheduler of <paramref name="type"/>; throws naming one that cannot be.</summary>
    private static IReadOnlyList<FieldInfo> Carried(Type type)
    {
        var fields = new List<FieldInfo>();
        for (var t = type; t is not null && t != typeof(object); t = t.BaseType)
            foreach (var f in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                if (IsLeftOut(f.FieldType)) continue;
                if (!IsCarried(f.FieldType, 0))
                    throw new NotSupportedException($"{type.Name}.{f.Name} is a {f.FieldType.Name}, which a scheduler checkpoint cannot carry");
                fields.Add(f);
            }
        return fields;
    }

    /// <summary>The optimizer, functions, and views of the optimizer's options: not the scheduler's to carry.</summary>
    private static bool IsLeftOut(Type type)
    {
        var t = Element(type) ?? type;
        return typeof(torch.optim.Optimizer).IsAssignableFrom(type) || typeof(Delegate).IsAssignableFrom(t)
            || t == typeof(torch.optim.IBetas) || t == typeof(torch.optim.IMomentum);
    }

    private static bool IsCarried(Type type, int depth)
    {
        if (IsValue(type) || typeof(LRScheduler).IsAssignableFrom(type)) return true;
        if (depth >= MaxDepth) return false;
        if (DictionaryValue(type) is { } v) return IsCarried(v, depth + 1);
        if (Element(type) is { } e) return IsCarried(e, depth + 1);
        return IsPlainObject(type) && Plain(type).All(f => IsCarried(f.FieldType, depth + 1));
    }

    private static void CheckSchedulers(object value)
    {
        if (value is LRScheduler s) Check(s);
        else if (value is IEnumerable many and not string)
            foreach (var child in many.OfType<LRScheduler>()) Check(child);
    }

    private static JsonNode? Write(object? value, Type type)
    {
        switch (value)
        {
            case null:
                return null;
            case LRScheduler s:
                return Write(s);
            case IDictionary d when DictionaryValue(type) is { } v:
                var map = new JsonObject();
                foreach (DictionaryEntry e in d) map[(string)e.Key] = Write(e.Value, v);
                return map;
            case IEnumerable many when !IsValue(type) && Element(type) is { } e:
                return new JsonArray(many.Cast<object?>().Select(x => Write(x, e)).ToArray());
        }
        if (IsValue(type)) return ScalarJson.From(value, type);
        var json = new JsonObject();
        foreach (var f in Plain(type)) json[f.Name] = Write(f.GetValue(value), f.FieldType);
        return json;
    }

    /// <summary>The value of <paramref name="type"/> <paramref name="node"/> holds; schedulers and plain objects in <paramref name="live"/> are filled in place.</summary>
    private static object? Read(JsonNode? node, Type type, object? live, string where, int depth)
    {
        if (node is null) return null;
        if (IsValue(type)) return ScalarJson.To(node, type);
        if (live is LRScheduler scheduler)
        {
            Restore(node.AsObject(), scheduler, where);
            return live;
        }
        if (live is IEnumerable children && children.Cast<object?>().Any(c => c is LRScheduler))
        {
            var a = node.AsArray();
            var i = 0;
            foreach (var child in children.Cast<LRScheduler>()) Restore(a[i]!.AsObject(), child, $"{where}[{i++}]");
            return live;
        }
        if (DictionaryValue(type) is { } v)
        {
            var map = (IDictionary)Activator.CreateInstance(typeof(Dictionary<,>).MakeGenericType(typeof(string), v))!;
            foreach (var (key, value) in node.AsObject()) map[key] = Read(value, v, null, $"{where}.{key}", depth + 1);
            return map;
        }
        if (Element(type) is { } e)
        {
            var items = node.AsArray();
            var old = (live as IEnumerable)?.Cast<object?>().ToList();
            var array = Array.CreateInstance(e, items.Count);
            for (var i = 0; i < items.Count; i++)
                array.SetValue(Read(items[i], e, old is not null && old.Count == items.Count ? old[i] : null, $"{where}[{i}]", depth + 1), i);
            if (type.IsArray) return array;
            var list = (IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(e))!;
            foreach (var item in array) list.Add(item);
            return list;
        }
        var target = live ?? RuntimeHelpers.GetUninitializedObject(type);
        var fields = node.AsObject();
        foreach (var f in Plain(type))
            if (fields.ContainsKey(f.Name)) f.SetValue(target, Read(fields[f.Name], f.FieldType, f.GetValue(target), $"{where}.{f.Name}", depth + 1));
        return target;
    }

    private static bool IsValue(Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        return t.IsPrimitive || t.IsEnum || t == typeof(string) || t == typeof(decimal);
    }

    /// <summary>A class or struct of fields only (a record of plain data), not a collection, a scheduler or a TorchSharp object.</summary>
    private static bool IsPlainObject(Type type) =>
        !type.IsInterface && !type.IsAbstract && !typeof(IEnumerable).IsAssignableFrom(type) && !typeof(IDisposable).IsAssignableFrom(type)
        && !typeof(LRScheduler).IsAssignableFrom(type) && type.GetProperties(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic).Length == 0;

    private static FieldInfo[] Plain(Type type) => type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic);

    /// <summary>The value type of a dictionary keyed by strings; null for anything else.</summary>
    private static Type? DictionaryValue(Type type)
    {
        var d = type.IsGenericType && type.GetGenericTypeDefinition() is var g && (g == typeof(Dictionary<,>) || g == typeof(IDictionary<,>) || g == typeof(IReadOnlyDictionary<,>))
            ? type.GetGenericArguments() : null;
        return d is not null && d[0] == typeof(string) ? d[1] : null;
    }

    /// <summary>The element type of an array or a generic list or enumerable; null for anything else.</summary>
    private static Type? Element(Type type) =>
        type.IsArray ? type.GetElementType()
        : type.IsGenericType && type.GetGenericArguments().Length == 1 && typeof(IEnumerable).IsAssignableFrom(type) ? type.GetGenericArguments()[0]
        : null;
}

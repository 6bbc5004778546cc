namespace ActorCkpt;

/// <summary>
/// Converts nested state (dictionaries of dictionaries, as a model's, an optimizer's and a
/// trainer's state nest) to flat dotted keys and back. Leaves are opaque: tensors, bytes, JSON.
/// </summary>
internal static class StateFlattener
{
    /// <summary>The separator between the levels of a flattened key.</summary>
    public const char Separator = '.';

    /// <summary>
    /// Flattens <paramref name="nested"/>: every leaf under "a" → "b" → "c" becomes key "a.b.c".
    /// Throws naming the key when a level's name contains the separator, which would make the flat key
    /// ambiguous. An empty name is a level like any other, as <see cref="Unflatten"/> makes it: "a..b"
    /// is "b" under "" under "a".
    /// </summary>
    public static IReadOnlyDictionary<string, object> Flatten(IReadOnlyDictionary<string, object> nested)
    {
        var flat = new Dictionary<string, object>(StringComparer.Ordinal);
        Walk(nested, prefix: null, flat);
        return flat;
    }

    /// <summary>Rebuilds nested dictionaries from dotted keys; the inverse of <see cref="Flatten"/>.</summary>
    public static IReadOnlyDictionary<string, object> Unflatten(IReadOnlyDictionary<string, object> flat)
    {
        var root = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var (key, value) in flat.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var parts = key.Split(Separator);
            var level = root;
            for (var i = 0; i < parts.Length - 1; i++)
            {
                if (!level.TryGetValue(parts[i], out var next))
                    level[parts[i]] = next = new Dictionary<string, object>(StringComparer.Ordinal);
                level = next as Dictionary<string, object>
                        ?? throw new ArgumentException($"key '{key}' nests under '{string.Join(Separator, parts[..(i + 1)])}', which is a leaf");
            }
            if (level.ContainsKey(parts[^1]))
                throw new ArgumentException($"key '{key}' is both a leaf and a level");
            level[parts[^1]] = value;
        }
        return root;
    }

    private static void Walk(IReadOnlyDictionary<string, object> level, string? prefix, Dictionary<string, object> flat)
    {
        foreach (var (name, value) in level)
        {
            var key = prefix is null ? name : prefix + Separator + name;
            if (name.Contains(Separator))
                throw new ArgumentException($"state name '{name}' under '{prefix ?? "(root)"}' contains '{Separator}': key '{key}' would read as other levels");
            switch (value)
            {
                case IReadOnlyDictionary<string, object> child:
                    Walk(child, key, flat);
                    break;
                case IDictionary<string, object> mutable:
                    Walk(mutable.AsReadOnly(), key, flat);
                    break;
                default:
                    if (!flat.TryAdd(key, value)) throw new ArgumentException($"key '{key}' appears twice");
                    break;
            }
        }
    }
}

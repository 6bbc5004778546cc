using System.Text.Json;
using System.Text.RegularExpressions;

namespace ActorCkpt;

/// <summary>
/// Renames the keys of an imported checkpoint, as transformers' and NeMo's <c>key_mapping</c>: an
/// ordered list of <c>{pattern: replacement}</c> regular expressions, each applied in turn to the
/// result of the one before. Replacements may use Python's group syntax (<c>\1</c>,
/// <c>\g&lt;name&gt;</c>) as well as .NET's (<c>$1</c>, <c>${name}</c>), so a mapping written for
/// Python works unchanged.
/// </summary>
public sealed class KeyMapping
{
    private static readonly Regex PythonGroup = new(@"\\(?:g<(?<name>\w+)>|(?<number>\d+))", RegexOptions.CultureInvariant);
    private readonly IReadOnlyList<(Regex Pattern, string Replacement)> _rules;

    /// <summary>Creates the mapping from <paramref name="rules"/>, in order; throws naming a pattern that is not a valid regular expression.</summary>
    public KeyMapping(IEnumerable<KeyValuePair<string, string>> rules)
    {
        var list = new List<(Regex, string)>();
        foreach (var (pattern, replacement) in rules)
        {
            Regex regex;
            try
            {
                regex = new Regex(pattern, RegexOptions.CultureInvariant);
            }
            catch (ArgumentException e)
            {
                throw new ActorCkptException($"key mapping pattern '{pattern}' is not a valid regular expression: {e.Message}");
            }
            list.Add((regex, DotNetReplacement(replacement)));
        }
        _rules = list;
    }

    /// <summary>The mapping that renames nothing.</summary>
    public static KeyMapping Identity { get; } = new(Array.Empty<KeyValuePair<string, string>>());

    /// <summary>Number of rules.</summary>
    public int Count => _rules.Count;

    /// <summary>
    /// Reads a mapping from a JSON object <c>{"pattern": "replacement", ...}</c>, keeping the
    /// document's order; <paramref name="source"/> names the document in errors.
    /// </summary>
    public static KeyMapping FromJson(string json, string source)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new ActorCkptException($"key mapping {source} is not valid JSON: {e.Message}");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new ActorCkptException($"key mapping {source} must be a JSON object of pattern to replacement");
            var rules = new List<KeyValuePair<string, string>>();
            foreach (var p in doc.RootElement.EnumerateObject())
                rules.Add(new(p.Name, p.Value.ValueKind == JsonValueKind.String
                    ? p.Value.GetString()!
                    : throw new ActorCkptException($"key mapping {source}: the replacement of '{p.Name}' is not a string")));
            return new KeyMapping(rules);
        }
    }

    /// <summary>The name <paramref name="key"/> takes after every rule.</summary>
    public string Apply(string key)
    {
        foreach (var (pattern, replacement) in _rules) key = pattern.Replace(key, replacement);
        return key;
    }

    /// <summary>
    /// Maps every key of <paramref name="keys"/>; returns new name → original name. Throws naming
    /// both originals when two keys map to the same name, and naming the key when one maps to "".
    /// </summary>
    public IReadOnlyDictionary<string, string> Rename(IEnumerable<string> keys)
    {
        var renamed = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            var name = Apply(key);
            if (name.Length == 0) throw new ActorCkptException($"key mapping turns '{key}' into an empty name");
            if (!renamed.TryAdd(name, key))
                throw new ActorCkptException($"key mapping turns both '{renamed[name]}' and '{key}' into '{name}'");
        }
        return renamed;
    }

    private static string DotNetReplacement(string replacement) =>
        PythonGroup.Replace(replacement, m => "${" + (m.Groups["name"].Success ? m.Groups["name"].Value : m.Groups["number"].Value) + "}");
}

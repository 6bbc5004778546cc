using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace ActorCkpt.Hosting;

/// <summary>
/// What in a configuration section will not bind to an options type, said before the binder says it:
/// its message names the CLR type ("System.Nullable`1[ActorCkpt.Hosting.CatalogProvider]") and never
/// the values it would take; and what it would pass over without a word (a key no option has).
/// </summary>
internal static class OptionsSection
{
    /// <summary>
    /// Null when every key under <paramref name="section"/> names a property of <paramref name="type"/>
    /// and every value that sets one (nested options included) converts to the property's type;
    /// otherwise one line naming the first that does not: an unknown key with the nearest option, or a
    /// value and what is accepted.
    /// </summary>
    public static string? Problem(IConfiguration section, Type type)
    {
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod?.IsPublic == true || !p.PropertyType.IsValueType).ToArray();
        // The binder passes over a key no property takes: a misspelt option would fall back to its default unseen.
        foreach (var child in section.GetChildren())
            if (!properties.Any(p => string.Equals(p.Name, child.Key, StringComparison.OrdinalIgnoreCase)))
                return $"{child.Path} is not an option of {type.Name}; did you mean {Nearest(child.Key, properties)}?";
        foreach (var property in properties)
        {
            var child = section.GetSection(property.Name);
            var target = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (IsOptions(target))
            {
                if (Problem(child, target) is { } nested) return nested;
                continue;
            }
            var path = child is IConfigurationSection s ? s.Path : property.Name;
            var map = IsMap(target);
            // The binder passes over an object where one value goes (and a value where an object goes): the option stays unset, unseen.
            if (child.Value is null)
            {
                if (!map && child.GetChildren().FirstOrDefault() is { } inner) return $"{path} has keys of its own ({inner.Key}, …): {Accepted(target)}";
                continue;
            }
            if (map) return $"{path} = '{child.Value}': {Accepted(target)}";
            if (child.Value is not { Length: > 0 } text || target == typeof(string)) continue;
            if (Converts(target, text)) continue;
            return $"{path} = '{text}': {Accepted(target)}";
        }
        return null;
    }

    /// <summary>Settings by name (<see cref="ActorCkptOptions.Settings"/>): an object of values, nested or flat.</summary>
    private static bool IsMap(Type type) => type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Dictionary<,>);

    /// <summary>
    /// Binds <paramref name="section"/> to <paramref name="options"/>: the binder, then <c>Settings</c> as the flat keys say them
    /// (the binder passes over nested objects there: <c>"writer": { "pool-size": "8" }</c>).
    /// </summary>
    public static void Bind(IConfiguration section, ActorCkptOptions options)
    {
        section.Bind(options);
        foreach (var (key, value) in Flattened(section.GetSection(nameof(ActorCkptOptions.Settings)))) options.Settings[key] = value;
    }

    /// <summary>
    /// Every value under <paramref name="section"/> by its path below it, '.' for ':': settings written as
    /// nested JSON objects (<c>"writer": { "pool-size": "8" }</c>) as the flat keys say them (<c>writer.pool-size</c>).
    /// </summary>
    public static IEnumerable<KeyValuePair<string, string>> Flattened(IConfiguration section) =>
        section.AsEnumerable(makePathsRelative: true).Where(p => p.Key.Length > 0 && p.Value is not null)
            .Select(p => new KeyValuePair<string, string>(p.Key.Replace(':', '.'), p.Value!));

    private static string Nearest(string key, IEnumerable<PropertyInfo> properties) =>
        properties.Select(p => p.Name).OrderBy(n => SettingsValidator.EditDistance(key.ToLowerInvariant(), n.ToLowerInvariant())).ThenBy(n => n, StringComparer.Ordinal).First();

    private static bool IsOptions(Type type) => type.IsClass && type != typeof(string) && type.Namespace?.StartsWith("ActorCkpt", StringComparison.Ordinal) == true;

    private static bool Converts(Type type, string text)
    {
        // The binder reads an enum by name (case aside) or number; a number no member has is no better than a typo.
        if (type.IsEnum) return Enum.TryParse(type, text, ignoreCase: true, out var value) && Enum.IsDefined(type, value!);
        try
        {
            _ = TypeDescriptor.GetConverter(type).ConvertFromInvariantString(text);
            return true;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or NotSupportedException or OverflowException || e.InnerException is FormatException or OverflowException)
        {
            return false;
        }
    }

    private static string Accepted(Type type) =>
        type.IsEnum ? $"accepted values are {string.Join(", ", Enum.GetNames(type))}"
        : type == typeof(bool) ? "expected true or false"
        : type == typeof(TimeSpan) ? "expected a duration such as 00:00:30 (hours:minutes:seconds)"
        : type == typeof(int) ? $"expected an integer from {int.MinValue} to {int.MaxValue}"
        : type == typeof(long) ? $"expected an integer from {long.MinValue} to {long.MaxValue}"
        : type == typeof(string) ? "expected one value (text)"
        : IsMap(type) ? "expected an object of settings by name, such as { \"writer.pool-size\": \"8\" } or { \"writer\": { \"pool-size\": \"8\" } }"
        : $"expected one value";
}

using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace ActorCkpt.Hosting;

/// <summary>
/// What in a configuration section will not bind to an options type, said before the binder says it:
/// its message names the CLR type ("System.Nullable`1[ActorCkpt.Hosting.CatalogProvider]") and never
/// the values it would take.
/// </summary>
internal static class OptionsSection
{
    /// <summary>
    /// Null when every value under <paramref name="section"/> that sets a property of
    /// <paramref name="type"/> (nested options included) converts to the property's type;
    /// otherwise one line naming the first that does not, its value and what is accepted.
    /// </summary>
    public static string? Problem(IConfiguration section, Type type)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (!property.CanWrite && property.PropertyType.IsValueType) continue;
            var child = section.GetSection(property.Name);
            var target = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (IsOptions(target))
            {
                if (Problem(child, target) is { } nested) return nested;
                continue;
            }
            if (child.Value is not { Length: > 0 } text || target == typeof(string)) continue;
            if (Converts(target, text)) continue;
            var path = child is IConfigurationSection s ? s.Path : property.Name;
            return $"{path} = '{text}': {Accepted(target)}";
        }
        return null;
    }

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
        : $"expected a {type.Name} value";
}

using System.IO.Hashing;
using System.Reflection;
using System.Text;

namespace ActorCkpt;

/// <summary>
/// The fingerprint of the library's wire types as this build defines them: the library's messages and
/// what they carry (<see cref="WireTypes.Library"/>; not the tool's messages nor what only they carry,
/// for the tool's nodes join a host's cluster), each with its fields' names and types, hashed. Hyperion writes fields without their
/// names, so a message of a build whose types differ (a field added) would be read as other values
/// silently; <see cref="ActorCkptSerializer"/> prefixes every payload with this and refuses another.
/// </summary>
internal static class WireProtocol
{
    private static readonly Lazy<uint> LazyCurrent = new(() =>
        Fingerprint(WireTypes.Library.Select(Describe)));

    /// <summary>This build's fingerprint.</summary>
    public static uint Current => LazyCurrent.Value;

    /// <summary><paramref name="type"/>'s full name and its instance fields' names and types, as Hyperion writes them.</summary>
    public static (string Type, IEnumerable<(string Name, string Type)> Fields) Describe(Type type) =>
        (type.FullName!, type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)
            .Select(f => (f.Name, f.FieldType.FullName ?? f.FieldType.Name)));

    /// <summary>The fingerprint of <paramref name="types"/> (as <see cref="Describe"/> gives them), whatever their order.</summary>
    public static uint Fingerprint(IEnumerable<(string Type, IEnumerable<(string Name, string Type)> Fields)> types)
    {
        var text = new StringBuilder();
        foreach (var (type, fields) in types.OrderBy(t => t.Type, StringComparer.Ordinal))
        {
            text.Append(type).Append('{');
            foreach (var (name, fieldType) in fields.OrderBy(f => f.Name, StringComparer.Ordinal)) text.Append(name).Append(':').Append(fieldType).Append(';');
            text.Append('}');
        }
        return XxHash32.HashToUInt32(Encoding.UTF8.GetBytes(text.ToString()));
    }
}

using System.Reflection.Metadata;
using Hyperion;

namespace ActorCkpt;

/// <summary>
/// The only types the wire serializer will instantiate: the project's <see cref="WireTypes"/> (the
/// messages marked <see cref="IActorCkptMessage"/> and the types they carry, each from its own
/// assembly, so neither a type elsewhere named "ActorCkpt.*" nor a project type no wire message
/// carries passes), Akka's actor-reference surrogate, the StreamRef (and its surrogate) carrying a
/// remote write's bytes, and a few BCL values and collections, each from its own assembly; generic
/// arguments and array elements are checked the same way, and a name without its assembly is
/// refused. Hyperion 0.12.2's own allow-list compares full assembly-qualified names (with versions)
/// and so rejects everything; this filter parses the names Hyperion reads from the stream with
/// .NET's own type-name parser.
/// </summary>
internal sealed class MessageTypeFilter : ITypeFilter
{
    private const string CoreLib = "System.Private.CoreLib";

    private static readonly HashSet<(string Type, string Assembly)> Plain = new()
    {
        ("System.String", CoreLib), ("System.Boolean", CoreLib), ("System.Byte", CoreLib), ("System.Int32", CoreLib),
        ("System.Int64", CoreLib), ("System.UInt64", CoreLib), ("System.Double", CoreLib), ("System.Guid", CoreLib),
        ("System.DateTimeOffset", CoreLib), ("System.TimeSpan", CoreLib),
        ("Akka.Actor.ActorRefBase+Surrogate", "Akka"),
        ("Akka.Actor.IActorRef", "Akka"),
        ("Akka.Streams.Serialization.SourceRefSurrogate", "Akka.Streams"),
    };

    private static readonly HashSet<(string Type, string Assembly)> Generic = new()
    {
        ("System.Collections.Generic.List`1", CoreLib),
        ("System.Collections.ObjectModel.ReadOnlyCollection`1", CoreLib),
        ("Akka.Streams.Implementation.StreamRef.SourceRefImpl`1", "Akka.Streams"),
    };

    /// <summary>The filter (stateless).</summary>
    public static MessageTypeFilter Instance { get; } = new();

    /// <inheritdoc />
    public bool IsAllowed(string typeName) =>
        TypeName.TryParse(NormalizeCoreLibrary(typeName).AsSpan(), out var parsed) && Allowed(parsed);

    /// <summary>
    /// Hyperion marks the core library as "System.Private.CoreLib,%core%" (or "%core%" alone) so
    /// that names travel between runtimes; the marker is not an assembly-name attribute .NET parses.
    /// </summary>
    private static string NormalizeCoreLibrary(string typeName) =>
        typeName.Replace(",%core%", "", StringComparison.Ordinal).Replace("%core%", CoreLib, StringComparison.Ordinal);

    private static bool Allowed(TypeName type)
    {
        if (type.IsArray) return Allowed(type.GetElementType());
        if (type.IsPointer || type.IsByRef) return false;
        if (type.IsConstructedGenericType)
            return Listed(type.GetGenericTypeDefinition(), Generic) && type.GetGenericArguments().All(Allowed);
        return Listed(type, Plain);
    }

    private static bool Listed(TypeName type, HashSet<(string Type, string Assembly)> list)
    {
        var assembly = type.AssemblyName?.Name;
        if (assembly is null) return false;
        return list.Contains((type.FullName, assembly)) || WireTypes.Contains(type.FullName, assembly);
    }
}

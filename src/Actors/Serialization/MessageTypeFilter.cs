using Hyperion;

namespace ActorCkpt.Actors;

/// <summary>
/// The only types the wire serializer will instantiate: ActorCkpt's own types (from its own
/// assemblies, so a type elsewhere named "ActorCkpt.*" does not pass), Akka's actor-reference
/// surrogate, the StreamRef (and its surrogate) carrying a remote write's bytes, and a short list of BCL value types
/// and collections whose type arguments are themselves allowed. Hyperion 0.12.2's own allow-list
/// compares full assembly-qualified names (with versions) and so rejects everything; this filter
/// parses the names Hyperion reads from the stream instead.
/// </summary>
public sealed class MessageTypeFilter : ITypeFilter
{
    // "actorckpt" is the Host assembly (the tool), whose demo agents talk across processes.
    private static readonly HashSet<string> OwnAssemblies = new(StringComparer.Ordinal) { "ActorCkpt.Planner", "ActorCkpt.Io", "ActorCkpt.Actors", "actorckpt" };

    private static readonly HashSet<string> Plain = new(StringComparer.Ordinal)
    {
        "System.String", "System.Boolean", "System.Byte", "System.Int32", "System.Int64", "System.UInt64", "System.Double",
        "System.Guid", "System.DateTimeOffset", "System.TimeSpan",
        "Akka.Actor.ActorRefBase+Surrogate",
        "Akka.Actor.IActorRef",
        "Akka.Streams.Serialization.SourceRefSurrogate",
    };

    private static readonly HashSet<string> Generic = new(StringComparer.Ordinal)
    {
        "System.Collections.Generic.List`1",
        "System.Collections.Generic.Dictionary`2",
        "System.Collections.Generic.SortedDictionary`2",
        "System.Collections.ObjectModel.ReadOnlyCollection`1",
        "Akka.Streams.Implementation.StreamRef.SourceRefImpl`1",
    };

    /// <summary>The filter (stateless).</summary>
    public static MessageTypeFilter Instance { get; } = new();

    /// <inheritdoc />
    public bool IsAllowed(string typeName)
    {
        try
        {
            return Allowed(typeName.Trim());
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static bool Allowed(string name)
    {
        // definition[[arg1],[arg2]][]…, assembly   or   name[]…, assembly
        var open = name.IndexOf("[[", StringComparison.Ordinal);
        var comma = name.IndexOf(',');
        if (open < 0 || (comma >= 0 && comma < open))
        {
            var (type, assembly) = SplitAssembly(name);
            while (type.EndsWith("[]", StringComparison.Ordinal)) type = type[..^2];
            return IsPlainAllowed(type, assembly);
        }

        var definition = name[..open];
        var rest = name[open..];
        var args = new List<string>();
        if (rest.StartsWith("[[", StringComparison.Ordinal))
        {
            var depth = 0;
            var start = -1;
            var i = 0;
            for (; i < rest.Length; i++)
            {
                var c = rest[i];
                if (c == '[')
                {
                    depth++;
                    if (depth == 2) start = i + 1;
                }
                else if (c == ']')
                {
                    if (depth == 2) args.Add(rest[start..i]);
                    depth--;
                    if (depth == 0) break;
                }
            }
            if (depth != 0) throw new FormatException(name);
            rest = rest[(i + 1)..];
        }
        while (rest.StartsWith("[]", StringComparison.Ordinal)) rest = rest[2..];
        var asm = rest.TrimStart(',').Trim();
        var defAssembly = asm.Length == 0 ? null : asm.Split(',')[0].Trim();
        var ownGeneric = defAssembly is not null && OwnAssemblies.Contains(defAssembly) && definition.StartsWith("ActorCkpt.", StringComparison.Ordinal);
        return (Generic.Contains(definition) || ownGeneric) && args.Count > 0 && args.All(Allowed);
    }

    private static (string Type, string? Assembly) SplitAssembly(string name)
    {
        var comma = name.IndexOf(',');
        return comma < 0 ? (name.Trim(), null) : (name[..comma].Trim(), name[(comma + 1)..].Split(',')[0].Trim());
    }

    private static bool IsPlainAllowed(string type, string? assembly) =>
        Plain.Contains(type)
        || (type.StartsWith("ActorCkpt.", StringComparison.Ordinal) && assembly is not null && OwnAssemblies.Contains(assembly));
}

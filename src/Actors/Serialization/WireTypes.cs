using System.Reflection;

namespace ActorCkpt;

/// <summary>
/// The project's types that may cross the wire, found by reflection once: every non-abstract type
/// marked <see cref="IActorCkptMessage"/> in ActorCkpt's assemblies (those present in the process:
/// the tool's is absent from a user's application), and every type of those assemblies that such a
/// message carries, directly or nested, through its public properties or its constructors'
/// parameters (plans, write items, boxes, results, enums...). A type the marker does not reach
/// (a rank's tensors, a save's handle, the store) is not a wire type, however it is named.
/// <see cref="MessageTypeFilter"/> admits these and nothing else of the project.
/// </summary>
internal static class WireTypes
{
    /// <summary>ActorCkpt's assemblies, the tool's ("actorckpt", whose demo agents talk across processes) included.</summary>
    public static IReadOnlyList<string> ProjectAssemblies { get; } = ["ActorCkpt.Planner", "ActorCkpt.Io", "ActorCkpt.Actors", "ActorCkpt.Host", ToolAssembly];

    private static readonly Lazy<Found> LazyFound = new(Find);

    /// <summary>The marked message types, sorted by full name.</summary>
    public static IReadOnlyList<Type> Messages => LazyFound.Value.Messages;

    /// <summary>The messages and every project type they carry, sorted by full name.</summary>
    public static IReadOnlyList<Type> All => LazyFound.Value.All;

    /// <summary>
    /// The library's messages (those of every assembly but the tool's) and every type they carry: the
    /// same set in a user's application and in the tool, whose own messages may carry library types
    /// no library message does.
    /// </summary>
    public static IReadOnlyList<Type> Library => LazyFound.Value.Library;

    /// <summary>
    /// Whether the type named <paramref name="fullName"/> (as <see cref="Type.FullName"/> spells it;
    /// a generic one without its arguments) from the assembly named <paramref name="assembly"/> is a wire type.
    /// </summary>
    public static bool Contains(string fullName, string assembly) => LazyFound.Value.Names.Contains((fullName, assembly));

    /// <summary>What <see cref="Discover"/> finds in a set of assemblies.</summary>
    internal sealed record Found(IReadOnlyList<Type> Messages, IReadOnlyList<Type> All, IReadOnlyList<Type> Library, HashSet<(string, string)> Names);

    /// <summary>The name of the tool's assembly, whose types are in no user's application.</summary>
    public const string ToolAssembly = "actorckpt";

    private static Found Find() => Discover(ProjectAssemblies.Select(TryLoad).OfType<Assembly>().ToArray());

    /// <summary>The wire types of <paramref name="assemblies"/> (ActorCkpt's that a process has).</summary>
    internal static Found Discover(Assembly[] assemblies)
    {
        var types = assemblies.SelectMany(LoadableTypes).ToArray();
        var messages = types.Where(t => !t.IsAbstract && !t.IsInterface && typeof(IActorCkptMessage).IsAssignableFrom(t))
            .OrderBy(t => t.FullName, StringComparer.Ordinal).ToArray();

        var all = Reached(messages, assemblies, types);
        var library = Reached(messages.Where(m => m.Assembly.GetName().Name != ToolAssembly), assemblies, types);
        return new Found(messages, all, library, all.Select(t => (t.FullName!, t.Assembly.GetName().Name!)).ToHashSet());
    }

    /// <summary><paramref name="messages"/> and every type of <paramref name="assemblies"/> they carry, sorted by full name.</summary>
    private static Type[] Reached(IEnumerable<Type> messages, Assembly[] assemblies, Type[] types)
    {
        var found = new HashSet<Type>();
        var pending = new Stack<Type>(messages);
        while (pending.TryPop(out var type))
        {
            if (!found.Add(type)) continue;
            foreach (var carried in Carried(type).SelectMany(Unwrap).Where(t => assemblies.Contains(t.Assembly)))
            {
                pending.Push(carried);
                // A property of an abstract type or an interface holds one of its implementations.
                if (carried.IsAbstract || carried.IsInterface)
                    foreach (var implementation in types.Where(t => !t.IsAbstract && !t.IsInterface && carried.IsAssignableFrom(t)))
                        pending.Push(implementation);
            }
        }
        return found.Where(t => !t.IsInterface).OrderBy(t => t.FullName, StringComparer.Ordinal).ToArray();
    }

    /// <summary>The types a value of <paramref name="type"/> is made of, as its public surface declares them.</summary>
    private static IEnumerable<Type> Carried(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(p => p.PropertyType)
            .Concat(type.GetConstructors().SelectMany(c => c.GetParameters()).Select(p => p.ParameterType));

    /// <summary>The named types inside <paramref name="type"/>: array elements, nullable values, generic definitions and arguments.</summary>
    private static IEnumerable<Type> Unwrap(Type type)
    {
        if (type.HasElementType) return Unwrap(type.GetElementType()!);
        if (type.IsConstructedGenericType)
            return type.GetGenericArguments().SelectMany(Unwrap).Prepend(type.GetGenericTypeDefinition());
        return type.IsGenericParameter ? [] : [type];
    }

    private static Assembly? TryLoad(string name)
    {
        try
        {
            return Assembly.Load(new AssemblyName(name));
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    private static IEnumerable<Type> LoadableTypes(Assembly assembly)
    {
        try
        {
            return assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException e)
        {
            return e.Types.OfType<Type>();
        }
    }
}

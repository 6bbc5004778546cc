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
    public static IReadOnlyList<string> ProjectAssemblies { get; } = ["ActorCkpt.Planner", "ActorCkpt.Io", "ActorCkpt.Actors", "ActorCkpt.Host", "actorckpt"];

    private static readonly Lazy<Found> LazyFound = new(Find);

    /// <summary>The marked message types, sorted by full name.</summary>
    public static IReadOnlyList<Type> Messages => LazyFound.Value.Messages;

    /// <summary>The messages and every project type they carry, sorted by full name.</summary>
    public static IReadOnlyList<Type> All => LazyFound.Value.All;

    /// <summary>
    /// Whether the type named <paramref name="fullName"/> (as <see cref="Type.FullName"/> spells it;
    /// a generic one without its arguments) from the assembly named <paramref name="assembly"/> is a wire type.
    /// </summary>
    public static bool Contains(string fullName, string assembly) => LazyFound.Value.Names.Contains((fullName, assembly));

    private sealed record Found(IReadOnlyList<Type> Messages, IReadOnlyList<Type> All, HashSet<(string, string)> Names);

    private static Found Find()
    {
        var assemblies = ProjectAssemblies.Select(TryLoad).OfType<Assembly>().ToArray();
        var types = assemblies.SelectMany(LoadableTypes).ToArray();
        var messages = types.Where(t => !t.IsAbstract && !t.IsInterface && typeof(IActorCkptMessage).IsAssignableFrom(t))
            .OrderBy(t => t.FullName, StringComparer.Ordinal).ToArray();

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
        var all = found.Where(t => !t.IsInterface).OrderBy(t => t.FullName, StringComparer.Ordinal).ToArray();
        return new Found(messages, all, all.Select(t => (t.FullName!, t.Assembly.GetName().Name!)).ToHashSet());
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

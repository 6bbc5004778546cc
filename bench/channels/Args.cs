namespace ChannelBench;

/// <summary>The command line: a command followed by <c>--name value</c> pairs (a flag alone means "true").</summary>
public sealed class Args
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    /// <summary>The first word: receive, send or compare.</summary>
    public string Command { get; private init; } = "";

    /// <summary>Parses <paramref name="args"/>.</summary>
    public static Args Parse(string[] args)
    {
        if (args.Length == 0) throw new ArgumentException("no command");
        var a = new Args { Command = args[0] };
        for (var i = 1; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"unexpected '{args[i]}'");
            var name = args[i][2..];
            var hasValue = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal);
            a._values[name] = hasValue ? args[++i] : "true";
        }
        return a;
    }

    /// <summary>A string option, or <paramref name="fallback"/>.</summary>
    public string Get(string name, string fallback) => _values.GetValueOrDefault(name, fallback);

    /// <summary>A required string option.</summary>
    public string Require(string name) => _values.TryGetValue(name, out var v) ? v : throw new ArgumentException($"--{name} is required");

    /// <summary>An integer option.</summary>
    public long Long(string name, long fallback) => _values.TryGetValue(name, out var v) ? long.Parse(v) : fallback;

    /// <summary>A number option.</summary>
    public double Double(string name, double fallback) =>
        _values.TryGetValue(name, out var v) ? double.Parse(v, System.Globalization.CultureInfo.InvariantCulture) : fallback;

    /// <summary>True when the flag was given.</summary>
    public bool Flag(string name) => _values.ContainsKey(name);
}

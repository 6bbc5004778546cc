using System.Globalization;
using System.Text.Json;

namespace ActorCkpt.Host.Cli;

/// <summary>How commands print: human lines, and with --json one JSON object on the last line.</summary>
public sealed class CliOutput(TextWriter output, bool json)
{
    /// <summary>Writes a human-readable line (kept with --json too, before the JSON line).</summary>
    public void Line(string text) => output.WriteLine(text);

    /// <summary>Writes the report: a JSON line with --json, otherwise "name: value" lines.</summary>
    public void Report(IReadOnlyDictionary<string, object?> fields)
    {
        if (json)
        {
            output.WriteLine(JsonSerializer.Serialize(fields));
            return;
        }
        foreach (var (k, v) in fields) output.WriteLine($"{k}: {Format(v)}");
    }

    /// <summary>Seconds rounded for reports.</summary>
    public static double Seconds(TimeSpan t) => Math.Round(t.TotalSeconds, 4);

    private static string Format(object? v) => v switch
    {
        null => "-",
        double d => d.ToString("0.####", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        string s => s,
        _ => JsonSerializer.Serialize(v),
    };
}

using System.Globalization;
using System.Text.Json;

namespace ActorCkpt.Cli;

/// <summary>
/// How commands print: human lines, progress of long work (a bar on a terminal, plain lines when
/// redirected), and with --json one JSON object on the last line.
/// </summary>
/// <param name="output">Where to print.</param>
/// <param name="json">Whether the report is a JSON line.</param>
/// <param name="terminal">Whether <paramref name="output"/> is a terminal; when null, true for a console output that is not redirected.</param>
/// <param name="errors">Where a failure's line goes (<see cref="Failure"/>); the console's error stream when null.</param>
internal sealed class CliOutput(TextWriter output, bool json, bool? terminal = null, TextWriter? errors = null)
{
    private readonly bool _terminal = terminal ?? (ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected);

    /// <summary>Starts showing the progress of <paramref name="label"/> over <paramref name="total"/> bytes; dispose it when the work ends.</summary>
    public CliProgress Progress(string label, long total) => new(output, _terminal, label, total);

    /// <summary>
    /// Says that <paramref name="file"/> with <paramref name="tensors"/> tensors is written, from any
    /// thread; only when output is redirected (on a terminal the progress bar says it).
    /// </summary>
    public void FileWritten(string file, int tensors)
    {
        if (_terminal) return;
        lock (output) Line($"wrote {file} ({tensors} tensors)");
    }

    /// <summary>Writes a human-readable line (kept with --json too, before the JSON line).</summary>
    public void Line(string text) => output.WriteLine(text);

    /// <summary>
    /// Says why a command that still prints its report (the demo's, with <c>bit_exact</c> false)
    /// exits 1: one line <c>actorckpt: why</c> on stderr, as a command that throws gets.
    /// </summary>
    public void Failure(string why) => (errors ?? Console.Error).WriteLine("actorckpt: " + why);

    /// <summary>Writes a line to stderr: for a command whose stdout is a document of its own (<c>inspect --metadata-json</c>).</summary>
    public void Note(string text) => (errors ?? Console.Error).WriteLine(text);

    /// <summary>Writes the report: a JSON line with --json, otherwise "name: value" lines.</summary>
    public void Report(IReadOnlyDictionary<string, object?> fields)
    {
        if (json)
        {
            output.WriteLine(JsonSerializer.Serialize(fields));
            return;
        }
        foreach (var (k, v) in fields) output.WriteLine($"{k}: {Plain(v)}");
    }

    /// <summary>The most items of a list a plain report shows; --json has them all.</summary>
    public const int PlainListItems = 32;

    // A plain report stays short: a list of records (steps, tensors: the lines above say them) is
    // counted, and a long list of values is cut; --json prints every one.
    private static string Plain(object? v)
    {
        if (v is string or null or System.Collections.IDictionary || v is not System.Collections.IEnumerable list) return Format(v);
        var items = list.Cast<object?>().ToList();
        if (items.Any(i => i is not (null or string or IFormattable))) return $"{items.Count} (--json prints them)";
        return items.Count <= PlainListItems ? Format(v)
            : $"[{string.Join(",", items.Take(PlainListItems).Select(i => JsonSerializer.Serialize(i)))},...] ({items.Count} in all; --json prints them)";
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

using System.Text;
using System.Text.Json;

namespace ActorCkpt.Hosting;

/// <summary>
/// What a generic host's configuration says of its ActorCkpt node (section <c>ActorCkpt</c> of
/// appsettings.json, environment variables, or code): the checkpoint directory, an optional HOCON
/// file, and single settings that override it.
/// </summary>
/// <example>
/// <code>
/// "ActorCkpt": {
///   "Directory": "/checkpoints/run1",
///   "HoconFile": "actorckpt.conf",
///   "Settings": { "async.max-in-flight": "2", "retention.keep-last": "3" }
/// }
/// </code>
/// </example>
public sealed class ActorCkptHostOptions
{
    /// <summary>The checkpoint directory (required).</summary>
    public string Directory { get; set; } = "";

    /// <summary>A HOCON file whose settings override the defaults (hocon/node.conf).</summary>
    public string? HoconFile { get; set; }

    /// <summary>Settings under <c>actorckpt.</c> by their path below it, overriding the HOCON file: <c>"writer.pool-size": "8"</c>.</summary>
    public Dictionary<string, string> Settings { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The HOCON text these options amount to. Throws naming a missing directory or file.</summary>
    public string ToHocon()
    {
        if (string.IsNullOrWhiteSpace(Directory)) throw new InvalidOperationException("ActorCkpt:Directory is not set: the checkpoint directory is required");
        var hocon = new StringBuilder();
        if (HoconFile is not null)
        {
            if (!File.Exists(HoconFile)) throw new FileNotFoundException($"ActorCkpt:HoconFile '{HoconFile}' does not exist", HoconFile);
            hocon.AppendLine(File.ReadAllText(HoconFile));
        }
        foreach (var (path, value) in Settings)
        {
            if (path.Length == 0 || path.Any(c => !(char.IsLetterOrDigit(c) || c is '.' or '-' or '_')))
                throw new InvalidOperationException($"ActorCkpt:Settings has '{path}', which is not a setting path (letters, digits, '.', '-', '_')");
            // Quoted: HOCON reads numbers, durations and booleans from strings, and paths need the quotes.
            hocon.Append("actorckpt.").Append(path).Append(" = ").AppendLine(JsonSerializer.Serialize(value));
        }
        return hocon.ToString();
    }
}

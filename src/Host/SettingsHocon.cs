using System.Text;
using System.Text.Json;

namespace ActorCkpt;

/// <summary>Settings given by path below <c>actorckpt</c> (the typed options' <c>Settings</c>) as HOCON lines.</summary>
internal static class SettingsHocon
{
    /// <summary>
    /// <c>actorckpt.PATH = "VALUE"</c> per setting; throws naming <paramref name="owner"/> and a path that is not one.
    /// Values are quoted: HOCON reads numbers, durations and booleans from strings, and paths need the quotes.
    /// </summary>
    public static string From(IEnumerable<KeyValuePair<string, string>> settings, string owner)
    {
        var hocon = new StringBuilder();
        foreach (var (path, value) in settings)
        {
            if (path.Length == 0 || path.Any(c => !(char.IsLetterOrDigit(c) || c is '.' or '-' or '_')))
                throw new ArgumentException($"{owner} has '{path}', which is not a setting path (letters, digits, '.', '-', '_'): write it as in docs/configuration.md, without the 'actorckpt.' prefix");
            hocon.Append("actorckpt.").Append(path).Append(" = ").AppendLine(JsonSerializer.Serialize(value));
        }
        return hocon.ToString();
    }

    /// <summary><c>actorckpt.KEY = VALUE</c>, one line per pair whose value is set (values written as HOCON already): what typed options amount to.</summary>
    public static string Lines(params (string Key, string? Value)[] settings) =>
        string.Concat(settings.Where(s => s.Value is not null).Select(s => $"actorckpt.{s.Key} = {s.Value}\n"));
}

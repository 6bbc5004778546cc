using System.Globalization;
using System.Text;

namespace ActorCkpt;

/// <summary>
/// How a key is written in a line of text (the tool's listings, verify's findings): as it is, unless
/// it would break or hide the line: a control character (a newline, NUL), a line or paragraph
/// separator, a bidirectional formatting or invisible character, a leading double quote, or nothing
/// at all. Such a key is written as a JSON string, quoted and escaped, so that one line stays one
/// entry and the key reads back as it is.
/// </summary>
internal static class KeyText
{
    /// <summary><paramref name="key"/> as a line of text shows it.</summary>
    public static string Of(string key) => key.Length > 0 && key[0] != '"' && !key.Any(Escaped) ? key : Quoted(key);

    private static string Quoted(string key)
    {
        var text = new StringBuilder(key.Length + 2).Append('"');
        foreach (var c in key)
        {
            switch (c)
            {
                case '"': text.Append("\\\""); break;
                case '\\': text.Append("\\\\"); break;
                case '\n': text.Append("\\n"); break;
                case '\r': text.Append("\\r"); break;
                case '\t': text.Append("\\t"); break;
                default:
                    if (Escaped(c)) text.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else text.Append(c);
                    break;
            }
        }
        return text.Append('"').ToString();
    }

    /// <summary>
    /// <paramref name="text"/> (a message that may quote keys) with only the characters that would break
    /// or hide its line written as escapes (<c>\n</c>, <c>\uXXXX</c>); everything else as it is.
    /// </summary>
    public static string LineSafe(string text)
    {
        if (!text.Any(Escaped)) return text;
        var safe = new StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            if (c == '\n') safe.Append("\\n");
            else if (Escaped(c)) safe.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            else safe.Append(c);
        }
        return safe.ToString();
    }

    /// <summary>
    /// Characters a terminal or a line-oriented reader would not show as themselves: control characters,
    /// line and paragraph separators, the bidirectional formatting characters, and the invisible
    /// zero-width space and byte-order mark.
    /// </summary>
    private static bool Escaped(char c) =>
        char.IsControl(c) || c is '\u2028' or '\u2029' or '\u061c' or '\u200e' or '\u200f' or (>= '\u202a' and <= '\u202e') or (>= '\u2066' and <= '\u2069')
            or '\u200b' or '\ufeff';
}

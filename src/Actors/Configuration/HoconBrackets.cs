using Akka.Configuration;

namespace ActorCkpt;

/// <summary>
/// Checks that every '{' and '[' of a HOCON text is closed, and by its own kind, before Akka parses
/// it: Akka's parser takes a section left open at the end of the text as if it were closed there, so
/// a file whose closing brace was lost would be applied as though nothing were wrong. Strings
/// (quoted and triple-quoted) and comments are skipped.
/// </summary>
internal static class HoconBrackets
{
    /// <summary>Throws <see cref="ConfigurationException"/> naming <paramref name="what"/> and the line of the first bracket left open or closed wrongly.</summary>
    public static void Check(string text, string what)
    {
        var open = new Stack<(char Bracket, int Line)>();
        var line = 1;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\n') line++;
            else if (c == '#' || (c == '/' && i + 1 < text.Length && text[i + 1] == '/'))
                while (i + 1 < text.Length && text[i + 1] != '\n') i++;
            else if (c == '"' && string.CompareOrdinal(text, i, "\"\"\"", 0, 3) == 0)
            {
                var end = text.IndexOf("\"\"\"", i + 3, StringComparison.Ordinal);
                if (end < 0) return; // Akka refuses an unterminated string itself.
                line += text.AsSpan(i, end - i).Count('\n');
                i = end + 2;
            }
            else if (c == '"')
            {
                for (i++; i < text.Length && text[i] != '"' && text[i] != '\n'; i++)
                    if (text[i] == '\\') i++;
                if (i < text.Length && text[i] == '\n') line++;
            }
            else if (c is '{' or '[') open.Push((c, line));
            else if (c is '}' or ']')
            {
                if (open.Count == 0 || open.Pop().Bracket != (c == '}' ? '{' : '['))
                    throw new ConfigurationException($"{what}: line {line}: '{c}' closes nothing opened before it");
            }
        }
        if (open.Count > 0)
        {
            var (bracket, at) = open.Pop();
            throw new ConfigurationException($"{what}: line {at}: '{bracket}' is never closed (a '{(bracket == '{' ? '}' : ']')}' is missing)");
        }
    }
}

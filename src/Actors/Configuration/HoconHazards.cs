using Akka.Configuration;

namespace ActorCkpt;

/// <summary>
/// Finds, before Akka's HOCON parser (Akka 1.5, <c>Akka.Configuration.Hocon.Parser</c>) sees a text,
/// what would make that parser never return or take the process down: a character in an array where
/// no value starts (its array loop then adds empty values forever, growing memory: <c>[1, f = ]</c>,
/// <c>[user@host]</c>), nesting deep enough to overflow its recursion, and substitutions that lead
/// back to themselves (resolving them overflows the stack, which no handler catches). The text is
/// walked the way that parser reads it (its tokens, its look-ahead quirks), positions only, so that
/// a text found here to be safe is one on which the parser ends. Where the parser would throw, the
/// walk stops and leaves the refusal to it. An include is refused here: that parser, given a text,
/// reads no included file (<c>include "f"</c> failed naming a null reference, <c>include file("f")</c> read as nothing).
/// </summary>
internal sealed class HoconHazards
{
    /// <summary>The deepest nesting of keys (a dotted key counts each part) and arrays accepted.</summary>
    public const int MaxDepth = 64;

    /// <summary>The most substitutions (<c>${...}</c>) accepted: they are checked for cycles pairwise.</summary>
    public const int MaxSubstitutions = 1000;

    // The parser's own character classes.
    private const string NotInUnquotedKey = "$\"{}[]:=,#`^?!@*&\\.";
    private const string NotInUnquotedText = "$\"{}[]:=,#`^?!@*&\\";

    private readonly string _text;
    private readonly string _owner;
    private readonly List<(string Path, string Target)> _substitutions = new();
    private int _at;

    private HoconHazards(string text, string owner) => (_text, _owner) = (text, owner);

    /// <summary>Throws <see cref="ConfigurationException"/> naming <paramref name="owner"/> and the hazard in <paramref name="text"/>, if any.</summary>
    public static void Check(string text, string owner)
    {
        var walk = new HoconHazards(text, owner);
        try
        {
            walk.SkipSpaceAndComments();
            walk.Object(root: true, path: "", depth: 0);
        }
        catch (ParserRefuses)
        {
            return;
        }
        walk.CheckCycles();
    }

    /// <summary>The parser throws here: what it says is left to it.</summary>
    private sealed class ParserRefuses : Exception;

    private enum Token { Key, Dot, ObjectStart, ObjectEnd, Assign, ArrayStart, ArrayEnd, Include, End }

    private void Object(bool root, string path, int depth)
    {
        while (!AtEnd)
        {
            var (token, key) = Next();
            switch (token)
            {
                case Token.Include:
                    // ConfigurationFactory.ParseString resolves no include: 'include "f"' failed with a
                    // NullReferenceException's message, and 'include file("f")' read as nothing, its settings dropped.
                    throw Hazard("'include' is not read here (Akka.NET's HOCON parser resolves no include in a text it is given): write the included settings into this text itself");
                case Token.Key:
                    KeyContent(path.Length == 0 ? key : path + "." + key, depth + 1);
                    if (!root) return;
                    break;
                case Token.ObjectEnd:
                    return;
            }
        }
    }

    private void KeyContent(string path, int depth)
    {
        if (depth > MaxDepth) throw Hazard($"keys and arrays nested deeper than {MaxDepth} levels");
        while (!AtEnd)
        {
            switch (Next().Token)
            {
                case Token.Dot:
                    Object(root: false, path, depth);
                    return;
                case Token.Assign:
                    Value(path, depth);
                    return;
                case Token.ObjectStart:
                    Object(root: true, path, depth);
                    return;
            }
        }
    }

    private void Value(string path, int depth)
    {
        if (AtEnd) throw new ParserRefuses();
        SkipSpaceAndComments();
        while (IsValueStart())
        {
            if (Is("{"))
            {
                _at++;
                Object(root: true, path, depth);
            }
            else if (Is("\"\"\""))
            {
                _at += 3;
                while (!AtEnd && !Is("\"\"\"")) _at++;
                Take(3);
            }
            else if (Is("\"")) QuotedText();
            else if (IsUnquotedText())
            {
                while (!AtEnd && IsUnquotedText()) _at++;
                if (IsAny("=", ":")) throw new ParserRefuses();
            }
            else if (Is("["))
            {
                _at++;
                Array(path, depth + 1);
            }
            else
            {
                // "${": the path runs while it is unquoted text, and one character more closes it.
                _at += 2;
                // Akka.NET's parser leaves "${?x}" unresolved, even where x is set, and what it gives then holds
                // itself: read as an object, it never ends. Nor does it read environment variables.
                if (Is("?"))
                    throw Hazard($"'{path}' is set to an optional substitution ${{?...}}, which Akka.NET's HOCON parser does not resolve (nor environment variables): write the value itself");
                var start = _at;
                while (!AtEnd && IsUnquotedText()) _at++;
                var target = _text[start.._at];
                if (!AtEnd) _at++;
                if (_substitutions.Count == MaxSubstitutions) throw Hazard($"more than {MaxSubstitutions} substitutions");
                _substitutions.Add((path, target));
            }
            while (IsAny(" ", "\t")) _at++;
        }
        if (Is(",")) _at++;
    }

    private void Array(string path, int depth)
    {
        if (depth > MaxDepth) throw Hazard($"keys and arrays nested deeper than {MaxDepth} levels");
        while (!AtEnd && !Is("]"))
        {
            var before = _at;
            Value(path, depth);
            SkipSpaceAndComments();
            // Nothing read, and the same place next time round: the parser would add empty values forever.
            if (_at == before)
                throw Hazard($"'{_text[_at]}' where a value of an array should start, on which Akka's HOCON parser never returns: quote the value (\"...\") or close the array before it");
        }
        if (!AtEnd) _at++;
    }

    private (Token Token, string Key) Next()
    {
        SkipSpaceAndComments();
        if (Is(".")) return Step(Token.Dot);
        if (Is("{")) return Step(Token.ObjectStart);
        if (Is("}")) return Step(Token.ObjectEnd);
        if (IsAny("=", ":")) return Step(Token.Assign);
        if (IsInclude()) return (Token.Include, "");
        if (Is("\"")) return (Token.Key, QuotedText());
        if (!AtEnd && !char.IsWhiteSpace(Peek) && IsUnquotedKey())
        {
            var start = _at;
            while (!AtEnd && IsUnquotedKey()) _at++;
            return (Token.Key, _text[start.._at].Trim());
        }
        if (Is("[")) return Step(Token.ArrayStart);
        if (Is("]")) return Step(Token.ArrayEnd);
        if (AtEnd) return (Token.End, "");
        throw new ParserRefuses();
    }

    private (Token, string) Step(Token token)
    {
        _at++;
        return (token, "");
    }

    // 'include', then space or a comment, then a quoted text or file(, url(, classpath(, required(: read ahead without moving.
    private bool IsInclude()
    {
        if (!Is("include")) return false;
        var at = _at;
        try
        {
            _at += "include".Length;
            if (AtEnd || (!char.IsWhiteSpace(Peek) && !IsComment())) return false;
            SkipSpaceAndComments();
            if (Is("\""))
            {
                QuotedText();
                return true;
            }
            foreach (var form in (string[])["file", "url", "classpath", "required"])
            {
                if (!Is(form)) continue;
                _at += form.Length;
                SkipSpaceAndComments();
                return Is("(");
            }
            return false;
        }
        finally
        {
            _at = at;
        }
    }

    private string QuotedText()
    {
        var start = ++_at;
        while (!AtEnd && !Is("\""))
        {
            if (!Is("\\"))
            {
                _at++;
                continue;
            }
            _at++;
            var escaped = AtEnd ? '\0' : _text[_at++];
            if (escaped == 'u')
            {
                var hex = _at + 4 <= _text.Length ? _text.Substring(_at, 4) : null;
                if (hex is not null) _at += 4;
                try
                {
                    Convert.ToInt32("0x" + hex, 16);
                }
                catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
                {
                    throw new ParserRefuses();
                }
            }
            else if (escaped is not ('"' or '\\' or '/' or 'b' or 'f' or 'n' or 'r' or 't')) throw new ParserRefuses();
        }
        var end = _at;
        if (!AtEnd) _at++;
        return _text[start..end];
    }

    private void SkipSpaceAndComments()
    {
        do
        {
            while (!AtEnd && char.IsWhiteSpace(Peek)) _at++;
            while (IsComment())
                while (!AtEnd && _text[_at++] != '\n') { }
        } while (char.IsWhiteSpace(Peek));
    }

    private void Take(int count)
    {
        if (_at + count <= _text.Length) _at += count;
    }

    private bool AtEnd => _at >= _text.Length;

    private char Peek => AtEnd ? '\0' : _text[_at];

    private bool IsValueStart() => Is("[") || Is("{") || Is("${") || Is("\"") || IsUnquotedText();

    private bool IsUnquotedText() => !AtEnd && !char.IsWhiteSpace(Peek) && !IsComment() && !NotInUnquotedText.Contains(Peek);

    private bool IsUnquotedKey() => !AtEnd && !IsComment() && !NotInUnquotedKey.Contains(Peek);

    private bool IsComment() => IsAny("#", "//");

    private bool Is(string pattern) => _at + pattern.Length <= _text.Length && string.CompareOrdinal(_text, _at, pattern, 0, pattern.Length) == 0;

    // The parser's several-pattern match wants a character after the pattern: at the text's last character it fails.
    private bool IsAny(string first, string second) =>
        (_at + first.Length < _text.Length && string.CompareOrdinal(_text, _at, first, 0, first.Length) == 0) ||
        (_at + second.Length < _text.Length && string.CompareOrdinal(_text, _at, second, 0, second.Length) == 0);

    /// <summary>
    /// A substitution whose target is, holds or lies within a value that itself holds a substitution
    /// leading back to the first: resolving it, the parser recurses without end.
    /// </summary>
    private void CheckCycles()
    {
        var state = new byte[_substitutions.Count]; // 0 unvisited, 1 on the path, 2 done
        for (var i = 0; i < _substitutions.Count; i++)
            if (state[i] == 0 && Cycle(i, state) is { } at)
                throw new ConfigurationException($"{_owner}: the substitution ${{{_substitutions[at].Target}}} of '{_substitutions[at].Path}' leads back to itself, which Akka's HOCON parser resolves without end");
    }

    private int? Cycle(int i, byte[] state)
    {
        state[i] = 1;
        for (var j = 0; j < _substitutions.Count; j++)
        {
            if (!Related(_substitutions[i].Target, _substitutions[j].Path)) continue;
            if (state[j] == 1) return j;
            if (state[j] == 0 && Cycle(j, state) is { } at) return at;
        }
        state[i] = 2;
        return null;
    }

    // Reading one path reads the other: the same, or one within the other.
    private static bool Related(string a, string b) =>
        a.Length == 0 || b.Length == 0 || a == b ||
        (a.Length > b.Length ? a.StartsWith(b + ".", StringComparison.Ordinal) : b.StartsWith(a + ".", StringComparison.Ordinal));

    private ConfigurationException Hazard(string what)
    {
        var line = 1 + _text.AsSpan(0, Math.Min(_at, _text.Length)).Count('\n');
        return new ConfigurationException($"{_owner}: line {line}: {what}");
    }
}

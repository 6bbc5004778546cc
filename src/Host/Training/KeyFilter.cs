using System.Text.RegularExpressions;

namespace ActorCkpt;

/// <summary>Picks state names by glob patterns, as PEFT picks adapter weights (<c>*.lora_A.*</c>).</summary>
internal static class KeyFilter
{
    /// <summary>
    /// Accepts a name matching any of <paramref name="patterns"/>, where <c>*</c> stands for any
    /// run of characters (dots included) and <c>?</c> for one character; the whole name must match.
    /// </summary>
    public static Func<string, bool> Glob(params string[] patterns)
    {
        if (patterns.Length == 0) throw new ArgumentException("a key filter needs at least one pattern");
        var regexes = patterns.Select(p => string.IsNullOrEmpty(p)
            ? throw new ArgumentException("a key filter pattern is empty")
            : new Regex("^" + Regex.Escape(p).Replace(@"\*", ".*").Replace(@"\?", ".") + "$", RegexOptions.CultureInvariant)).ToArray();
        return name => regexes.Any(r => r.IsMatch(name));
    }
}

namespace ActorCkpt.Cli;

/// <summary>The accepted word closest to a mistyped one, for "did you mean" in usage errors.</summary>
internal static class Nearest
{
    /// <summary>The candidate at the smallest edit distance from <paramref name="word"/> (the first of equals); <paramref name="candidates"/> must not be empty.</summary>
    public static string Of(string word, IEnumerable<string> candidates) =>
        candidates.Select((c, i) => (c, i, d: Distance(word, c))).OrderBy(x => x.d).ThenBy(x => x.i).First().c;

    /// <summary>The Levenshtein distance (insertions, deletions and substitutions, case-insensitive).</summary>
    public static int Distance(string a, string b)
    {
        a = a.ToLowerInvariant();
        b = b.ToLowerInvariant();
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        var current = new int[b.Length + 1];
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}

namespace ActorCkpt;

/// <summary>
/// The wanted state does not match the checkpoint: keys missing or unexpected (strict loads),
/// a dtype or shape that differs, or a checkpoint that does not cover a wanted chunk.
/// Nothing has been read when it is thrown.
/// </summary>
public sealed class LoadPlanException : ActorCkptException
{
    /// <summary>Creates the exception from the lists of problems.</summary>
    public LoadPlanException(IReadOnlyList<string> missingKeys, IReadOnlyList<string> unexpectedKeys, IReadOnlyList<string> mismatches)
        : base(Describe(missingKeys, unexpectedKeys, mismatches))
    {
        MissingKeys = missingKeys;
        UnexpectedKeys = unexpectedKeys;
        Mismatches = mismatches;
    }

    /// <summary>Wanted keys that the checkpoint does not hold.</summary>
    public IReadOnlyList<string> MissingKeys { get; }

    /// <summary>Checkpoint keys that the wanted state does not name.</summary>
    public IReadOnlyList<string> UnexpectedKeys { get; }

    /// <summary>Keys whose dtype, shape or coverage differ, one line each.</summary>
    public IReadOnlyList<string> Mismatches { get; }

    /// <summary>The most items of each list the message names; the properties hold them all.</summary>
    internal const int NamedInMessage = 8;

    // A model of thousands of parameters loaded into the wrong one would make a message of
    // megabytes: each list is cut, saying how much more the properties hold.
    private static string Describe(IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> mismatches)
    {
        var parts = new List<string>();
        if (missing.Count > 0) parts.Add("missing keys: " + Cut(missing, ", ", nameof(MissingKeys)));
        if (unexpected.Count > 0) parts.Add("unexpected keys: " + Cut(unexpected, ", ", nameof(UnexpectedKeys)));
        if (mismatches.Count > 0) parts.Add(Cut(mismatches, "; ", nameof(Mismatches)));
        return "state does not match checkpoint: " + string.Join("; ", parts);
    }

    private static string Cut(IReadOnlyList<string> items, string separator, string property) =>
        items.Count <= NamedInMessage ? string.Join(separator, items)
            : string.Join(separator, items.Take(NamedInMessage)) + $"{separator}and {items.Count - NamedInMessage} more ({property} has all {items.Count})";
}

namespace ActorCkpt;

/// <summary>Lists of problems as one line for an error message, kept short however many there are.</summary>
internal static class Problems
{
    /// <summary>How many problems a message names before it only counts the rest.</summary>
    public const int Named = 10;

    /// <summary>
    /// The first <see cref="Named"/> of <paramref name="problems"/> joined with "; ", and how many more
    /// there are: a hostile file can hold a million bad chunks, and its error must stay one readable line.
    /// </summary>
    public static string Line(IReadOnlyList<string> problems) =>
        problems.Count <= Named
            ? string.Join("; ", problems)
            : string.Join("; ", problems.Take(Named)) + $"; and {problems.Count - Named} more";
}

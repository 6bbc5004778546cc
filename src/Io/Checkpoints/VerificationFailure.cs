namespace ActorCkpt;

/// <summary>One problem found by <see cref="CheckpointVerifier"/>.</summary>
/// <param name="File">The data file at fault.</param>
/// <param name="Key">The tensor or entry whose bytes are bad ("(file)" when the file itself is).</param>
/// <param name="Problem">What is wrong.</param>
internal sealed record VerificationFailure(string File, string Key, string Problem)
{
    /// <summary>
    /// <paramref name="file"/> itself is bad: <paramref name="e"/> says why, without naming the file again
    /// when it is about the same one (a line would name it twice).
    /// </summary>
    public static VerificationFailure OfFile(string file, Exception e) =>
        new(file, "(file)", e is CheckpointFormatException f && f.File == file ? f.Problem : e.Message);

    /// <inheritdoc />
    public override string ToString() => $"BAD file={File} key={(Key == "(file)" ? Key : KeyText.Of(Key))}: {KeyText.LineSafe(Problem)}";
}

namespace ActorCkpt;

/// <summary>One problem found by <see cref="CheckpointVerifier"/>.</summary>
/// <param name="File">The data file at fault.</param>
/// <param name="Key">The tensor or entry whose bytes are bad ("(file)" when the file itself is).</param>
/// <param name="Problem">What is wrong.</param>
internal sealed record VerificationFailure(string File, string Key, string Problem)
{
    /// <inheritdoc />
    public override string ToString() => $"BAD file={File} key={(Key == "(file)" ? Key : KeyText.Of(Key))}: {KeyText.LineSafe(Problem)}";
}

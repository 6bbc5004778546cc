namespace ActorCkpt;

/// <summary>
/// The local plans of a save contradict each other (different dtypes or shapes for one key,
/// overlapping or missing chunks, chunks outside the tensor). The save is aborted; nothing is written.
/// </summary>
internal sealed class PlanValidationException : ActorCkptException
{
    /// <summary>Creates the exception for every problem found (its message names the first few).</summary>
    public PlanValidationException(IReadOnlyList<string> problems)
        : base("invalid save plan: " + ActorCkpt.Problems.Line(problems)) => Problems = problems;

    /// <summary>One line per problem, each naming the key and ranks involved.</summary>
    public IReadOnlyList<string> Problems { get; }
}


namespace ActorCkpt;

/// <summary>A file of a checkpoint is not what the format says it must be; the message names the file and the fault.</summary>
public sealed class CheckpointFormatException : ActorCkptException
{
    /// <summary>Creates the exception for <paramref name="file"/>.</summary>
    public CheckpointFormatException(string file, string problem) : base($"'{file}': {problem}") => (File, Problem) = (file, problem);

    /// <summary>Creates the exception for <paramref name="file"/> with its cause.</summary>
    public CheckpointFormatException(string file, string problem, Exception inner) : base($"'{file}': {problem}", inner) => (File, Problem) = (file, problem);

    /// <summary>
    /// A committed step's data file that is not there, or ends before a range its metadata records
    /// (<paramref name="cause"/>, a <see cref="FileNotFoundException"/>, <see cref="DirectoryNotFoundException"/>
    /// or <see cref="EndOfStreamException"/>); null for any other cause. Damage, as a load's contract names it, not a bare I/O error.
    /// </summary>
    internal static CheckpointFormatException? OfDataFile(string file, Exception cause) => cause switch
    {
        EndOfStreamException => new(file, "is truncated: it ends before a range its metadata records", cause),
        FileNotFoundException or DirectoryNotFoundException => new(file, "is missing: the step's metadata records it, but it was deleted or lost", cause),
        _ => null,
    };

    /// <summary>The file at fault.</summary>
    public string File { get; }

    /// <summary>What is wrong with it (the message without the file's name).</summary>
    public string Problem { get; }
}


namespace ActorCkpt;

/// <summary>A file of a checkpoint is not what the format says it must be; the message names the file and the fault.</summary>
public sealed class CheckpointFormatException : ActorCkptException
{
    /// <summary>Creates the exception for <paramref name="file"/>.</summary>
    public CheckpointFormatException(string file, string problem) : base($"'{file}': {problem}") => (File, Problem) = (file, problem);

    /// <summary>Creates the exception for <paramref name="file"/> with its cause.</summary>
    public CheckpointFormatException(string file, string problem, Exception inner) : base($"'{file}': {problem}", inner) => (File, Problem) = (file, problem);

    /// <summary>The file at fault.</summary>
    public string File { get; }

    /// <summary>What is wrong with it (the message without the file's name).</summary>
    public string Problem { get; }
}

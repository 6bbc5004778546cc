namespace ActorCkpt;

/// <summary>
/// An export or unshard destination that the tool will not write or replace: a file, a link, or a
/// folder holding files the tool did not write. Thrown before anything is written; nothing at the
/// destination is touched. The message is one line naming the path and what is there.
/// </summary>
internal sealed class OutputRefusedException(string message) : ActorCkptException(message);

namespace ActorCkpt;

/// <summary>
/// Base type of every error ActorCkpt raises on purpose. Supervisors treat these as
/// failures of the operation at hand (the save or the load), never of the actor system.
/// </summary>
public class ActorCkptException : Exception
{
    /// <summary>Creates the exception with a message that names what is wrong.</summary>
    public ActorCkptException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the underlying cause.</summary>
    public ActorCkptException(string message, Exception inner) : base(message, inner) { }
}

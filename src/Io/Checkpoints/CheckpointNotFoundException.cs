
namespace ActorCkpt;

/// <summary>No committed checkpoint exists for the step asked for (or none at all).</summary>
public sealed class CheckpointNotFoundException(string message) : ActorCkptException(message);

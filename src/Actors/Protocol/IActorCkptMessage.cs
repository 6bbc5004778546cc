namespace ActorCkpt;

/// <summary>
/// Marker of every message ActorCkpt actors exchange. Serializer bindings target this interface,
/// so only the project's own messages are ever accepted from the wire.
/// </summary>
internal interface IActorCkptMessage;

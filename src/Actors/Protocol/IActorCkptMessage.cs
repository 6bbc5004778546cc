namespace ActorCkpt;

/// <summary>
/// Marker of the messages that may cross the wire: sent to an actor on another node or process
/// (the planner singleton, a writer or reader elsewhere, a demo agent), or carried by a StreamRef.
/// The serializer is bound to this interface (hocon/reference.conf), and
/// <see cref="MessageTypeFilter"/> admits these types and what they carry (<see cref="WireTypes"/>),
/// nothing else of the project. A message that never leaves its process (it holds tensors, buffers
/// by reference, delegates or a cancellation token) does not carry it, so sending one to another
/// node fails at once for want of a serializer instead of failing on the far side.
/// </summary>
internal interface IActorCkptMessage;
